// The REST API's write bodies come from any token holder: every body parser of the users,
// groups, tokens, server-start and activity handlers (web/api_bodies.hpp) gets the same bytes.
// Nothing may crash, and what a parser accepts must keep its promises: user and group names
// pass their own checks, no name repeats in a bulk create, token lifetimes are in range.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "web/api_bodies.hpp"

using namespace nbhub;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view body(reinterpret_cast<char const*>(data), size);
  (void)web::parse_server_body(std::string(body));
  if (auto a = web::parse_activity(body)) {
    for (auto const& [name, ts] : a->servers) (void)name, (void)ts;
  }
  (void)web::parse_activity_time(body);
  (void)web::user_name_problem(body);
  (void)web::group_name_problem(body);
  auto v = web::parse_json_body(body);
  if (!v) return 0;
  if (auto r = web::parse_create_users(*v)) {
    if (r->names.empty()) std::abort();
    for (std::size_t i = 0; i < r->names.size(); ++i) {
      if (web::user_name_problem(r->names[i])) std::abort();
      for (std::size_t j = 0; j < i; ++j)
        if (r->names[i] == r->names[j]) std::abort();
    }
  }
  (void)web::parse_create_user(*v);
  if (auto r = web::parse_patch_user(*v); r && r->name && web::user_name_problem(*r->name)) std::abort();
  (void)web::parse_group_users(*v, true);
  (void)web::parse_group_users(*v, false);
  if (auto r = web::parse_create_groups(*v)) {
    if (r->names.empty()) std::abort();
    for (auto const& n : r->names)
      if (web::group_name_problem(n)) std::abort();
  }
  if (auto r = web::parse_token_request(*v)) {
    if (r->expires_in_seconds && (*r->expires_in_seconds <= 0 || *r->expires_in_seconds > web::kMaxTokenExpiresIn))
      std::abort();
    if (r->note.size() > 1000) std::abort();
  }
  return 0;
}
