#include "http/cookies.hpp"

#include <fmt/format.h>

namespace nbhub::http {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<std::string> find_cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    auto value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, CookieOptions const& o) {
  auto out = fmt::format("{}={}; Path={}; HttpOnly; SameSite={}", name, value, o.path, o.same_site);
  if (o.secure) out += "; Secure";
  if (o.max_age) out += fmt::format("; Max-Age={}", o.max_age->count());
  return out;
}

std::string clear_cookie(std::string_view name, CookieOptions o) {
  o.max_age = std::chrono::seconds{0};
  return set_cookie(name, "", o) + "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
}

}  // namespace nbhub::http
