#include "jwt/claims.hpp"

#include <cmath>

namespace nbhub::jwt {
namespace {

constexpr double kMaxAbsDate = 1e12;  // year ~33658: far beyond any real token

boost::json::value const* find_in(boost::json::object const& o, std::string_view path) {
  if (auto const* v = o.if_contains(path)) return v;
  for (auto pos = path.rfind('.'); pos != std::string_view::npos && pos > 0;
       pos = path.rfind('.', pos - 1)) {
    auto const* inner = o.if_contains(path.substr(0, pos));
    if (inner && inner->is_object())
      if (auto const* v = find_in(inner->get_object(), path.substr(pos + 1))) return v;
  }
  return nullptr;
}

}  // namespace

std::optional<std::int64_t> numeric_date(boost::json::value const& v) noexcept {
  if (auto const* i = v.if_int64()) {
    if (*i > kMaxAbsDate || *i < -kMaxAbsDate) return std::nullopt;
    return *i;
  }
  if (auto const* u = v.if_uint64()) {
    if (*u > kMaxAbsDate) return std::nullopt;
    return static_cast<std::int64_t>(*u);
  }
  if (auto const* d = v.if_double()) {
    if (!std::isfinite(*d) || std::fabs(*d) > kMaxAbsDate) return std::nullopt;
    return static_cast<std::int64_t>(std::floor(*d));
  }
  return std::nullopt;
}

namespace {
std::string_view string_member(boost::json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}
std::optional<std::int64_t> date_member(boost::json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v) return std::nullopt;
  return numeric_date(*v);
}
}  // namespace

std::string_view Claims::sub() const noexcept { return string_member(payload_, "sub"); }
std::string_view Claims::iss() const noexcept { return string_member(payload_, "iss"); }
std::optional<std::int64_t> Claims::exp() const noexcept { return date_member(payload_, "exp"); }
std::optional<std::int64_t> Claims::nbf() const noexcept { return date_member(payload_, "nbf"); }
std::optional<std::int64_t> Claims::iat() const noexcept { return date_member(payload_, "iat"); }

std::vector<std::string> Claims::audiences() const {
  return strings("aud").value_or(std::vector<std::string>{});
}

boost::json::value const* Claims::find(std::string_view path) const noexcept {
  if (path.size() > kMaxClaimPathBytes) return nullptr;
  return find_in(payload_, path);
}

std::optional<std::string> Claims::string(std::string_view path) const {
  auto const* v = find(path);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<std::vector<std::string>> Claims::strings(std::string_view path) const {
  auto const* v = find(path);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::vector<std::string>{std::string(v->get_string())};
  auto const* arr = v->if_array();
  if (!arr) return std::nullopt;
  std::vector<std::string> out;
  for (auto const& e : *arr)
    if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

}  // namespace nbhub::jwt
