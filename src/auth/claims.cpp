#include "auth/claims.hpp"

#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>

namespace nbhub::auth {

namespace json = boost::json;

json::value const* find_claim(json::object const& claims, std::string_view path) {
  if (path.empty()) return nullptr;
  if (auto it = claims.find(path); it != claims.end()) return &it->value();
  // Longest key prefix first, then descend.
  for (auto dot = path.rfind('.'); dot != std::string_view::npos && dot > 0;
       dot = path.rfind('.', dot - 1)) {
    auto it = claims.find(path.substr(0, dot));
    if (it != claims.end() && it->value().is_object()) {
      if (auto* v = find_claim(it->value().get_object(), path.substr(dot + 1))) return v;
    }
    if (dot == 0) break;
  }
  return nullptr;
}

std::vector<std::string> claim_strings(json::object const& claims, std::string_view path) {
  std::vector<std::string> out;
  auto const* v = find_claim(claims, path);
  if (!v) return out;
  if (v->is_array()) {
    for (auto const& e : v->get_array())
      if (e.is_string()) out.emplace_back(e.get_string());
  } else if (v->is_string()) {
    std::string_view s = v->get_string();
    std::size_t i = 0;
    while (i < s.size()) {
      auto j = s.find_first_of(" ,", i);
      if (j == std::string_view::npos) j = s.size();
      if (j > i) out.emplace_back(s.substr(i, j - i));
      i = j + 1;
    }
  }
  return out;
}

Result<json::object> merge_claims(json::object const& id_token, json::object const& userinfo) {
  auto id_sub = id_token.find("sub");
  auto ui_sub = userinfo.find("sub");
  if (id_sub != id_token.end() && ui_sub != userinfo.end() && id_sub->value() != ui_sub->value())
    return Error{Errc::bad_gateway,
                 "The identity provider's userinfo answer is for a different subject than the ID "
                 "token (OIDC Core 5.3.2); the login was refused."};
  json::object out = id_token;
  for (auto const& kv : userinfo) out[kv.key()] = kv.value();
  return out;
}

Result<std::string> normalize_username(std::string_view raw,
                                       std::map<std::string, std::string> const& username_map) {
  if (raw.empty()) return Error{Errc::forbidden, "The identity provider returned an empty username."};
  if (std::isspace(static_cast<unsigned char>(raw.front())) ||
      std::isspace(static_cast<unsigned char>(raw.back())))
    return Error{Errc::forbidden, "The username from the identity provider has surrounding spaces."};
  std::string name(raw);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (auto it = username_map.find(name); it != username_map.end()) name = it->second;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      return Error{Errc::forbidden, "The username from the identity provider contains control characters."};
    if (c == '/') return Error{Errc::forbidden, "Usernames may not contain '/'."};
  }
  if (name.size() > 255) return Error{Errc::forbidden, "The username is longer than 255 characters."};
  return name;
}

}  // namespace nbhub::auth
