// ID-token and userinfo claims are whatever the identity provider (or someone impersonating
// it) sends: merging, dotted lookups, group lists and username normalization never crash, and a
// normalized name is never empty.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json/parse.hpp>

#include "auth/claims.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view text(reinterpret_cast<char const*>(data), size);
  // "<id token claims JSON>\n<userinfo JSON>"
  auto nl = text.find('\n');
  boost::system::error_code ec1, ec2;
  auto id = boost::json::parse(text.substr(0, nl), ec1);
  auto ui = nl == std::string_view::npos ? boost::json::value(boost::json::object{})
                                         : boost::json::parse(text.substr(nl + 1), ec2);
  if (ec1 || ec2 || !id.is_object() || !ui.is_object()) {
    auto n = nbhub::auth::normalize_username(text, {});
    if (n && n->empty()) std::abort();
    return 0;
  }
  auto merged = nbhub::auth::merge_claims(id.get_object(), ui.get_object());
  if (!merged) return 0;
  for (auto const* path : {"username", "email", "cognito:groups", "realm_access.roles", "a.b.c", ""}) {
    (void)nbhub::auth::find_claim(*merged, path);
    (void)nbhub::auth::claim_strings(*merged, path);
  }
  if (auto const* u = nbhub::auth::find_claim(*merged, "username"); u && u->is_string()) {
    auto n = nbhub::auth::normalize_username(u->get_string(), {});
    if (n && n->empty()) std::abort();
  }
  return 0;
}
