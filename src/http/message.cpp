#include "http/message.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/beast/http/field.hpp>

#include "core/utf8.hpp"
#include "http/cookies.hpp"

namespace nbhub::http {

std::string Context::header(std::string_view name) const {
  auto it = req.find(name);
  return it == req.end() ? std::string{} : std::string(it->value());
}

std::optional<std::string> Context::cookie(std::string_view name) const {
  auto it = req.find(bhttp::field::cookie);
  if (it == req.end()) return std::nullopt;
  return find_cookie(it->value(), name);
}

std::optional<std::string> Context::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response text_response(unsigned status, std::string body, std::string_view content_type) {
  Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "same-origin");
  res.body() = std::move(body);
  return res;
}

Response html_response(unsigned status, std::string body) {
  auto res = text_response(status, std::move(body), "text/html; charset=utf-8");
  // Strict CSP: no inline script or style, nothing from elsewhere, no framing.
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
          "form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'");
  res.set("X-Frame-Options", "DENY");
  return res;
}

Response json_response(unsigned status, std::string body) {
  return text_response(status, std::move(body), "application/json");
}

Response redirect_response(std::string location, unsigned status) {
  auto res = text_response(status, "", "text/plain; charset=utf-8");
  res.set(bhttp::field::location, location);
  return res;
}

Response json_error(unsigned status, std::string_view message) {
  // Messages may echo decoded request input; the answer must stay JSON (core/utf8.hpp).
  boost::json::object o{{"status", status}, {"message", to_valid_utf8(message)}};
  return json_response(status, boost::json::serialize(o));
}

}  // namespace nbhub::http
