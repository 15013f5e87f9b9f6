#pragma once
// Cookie header parsing (RFC 6265 §5.4) and Set-Cookie building (§4.1) with safe defaults:
// HttpOnly and SameSite=Lax always, Secure when the browser came over https.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nbhub::http {

// Value of the first cookie called `name` in a Cookie header, or nullopt.
std::optional<std::string> find_cookie(std::string_view cookie_header, std::string_view name);

struct CookieOptions {
  std::string path = "/";
  bool secure = false;
  std::optional<std::chrono::seconds> max_age;  // nullopt: a session cookie
  std::string same_site = "Lax";
};

std::string set_cookie(std::string_view name, std::string_view value, CookieOptions const& o);
std::string clear_cookie(std::string_view name, CookieOptions o);

}  // namespace nbhub::http
