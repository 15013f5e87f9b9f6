#include "proxy/access_gate.hpp"

#include <boost/beast/core/string.hpp>

#include <charconv>

#include "core/crypto.hpp"

namespace nbhub::proxy {

namespace bhttp = boost::beast::http;

void AccessGate::deny(std::string const& route_key, std::string cookie_name, std::int64_t user_id,
                      std::vector<std::string> const& token_hashes, Clock::SysTime until) {
  std::lock_guard lock(mu_);
  prune(clock_.now());
  auto& e = routes_[route_key];
  e.cookie_name = std::move(cookie_name);
  for (auto const& h : token_hashes) e.tokens[h] = {until, user_id};
  if (e.tokens.empty()) routes_.erase(route_key);
  any_.store(!routes_.empty(), std::memory_order_release);
}

void AccessGate::allow(std::string const& route_key, std::int64_t user_id) {
  std::lock_guard lock(mu_);
  if (auto it = routes_.find(route_key); it != routes_.end()) {
    std::erase_if(it->second.tokens, [user_id](auto const& kv) { return kv.second.user_id == user_id; });
    if (it->second.tokens.empty()) routes_.erase(it);
  }
  any_.store(!routes_.empty(), std::memory_order_release);
}

void AccessGate::prune(Clock::SysTime now) {
  for (auto r = routes_.begin(); r != routes_.end();) {
    auto& tokens = r->second.tokens;
    std::erase_if(tokens, [now](auto const& kv) { return kv.second.until <= now; });
    r = tokens.empty() ? routes_.erase(r) : std::next(r);
  }
}

std::size_t AccessGate::size_for_test() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto const& [_, e] : routes_) n += e.tokens.size();
  return n;
}

std::optional<std::string> AccessGate::token_from_signed_cookie(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (!v.starts_with("2|")) return std::nullopt;
  v.remove_prefix(2);
  // Four length-prefixed fields: key version, timestamp, name, value; then the signature.
  std::string_view field;
  for (int i = 0; i < 4; ++i) {
    auto colon = v.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + colon, n);
    if (ec != std::errc{} || p != v.data() + colon) return std::nullopt;
    if (n > v.size() || v.size() - colon - 1 < n + 1) return std::nullopt;  // the field and its '|'
    field = v.substr(colon + 1, n);
    if (v[colon + 1 + n] != '|') return std::nullopt;
    v.remove_prefix(colon + 2 + n);
  }
  return crypto::base64_decode(field);
}

namespace {

std::string_view token_in_authorization(std::string_view h) {
  auto space = h.find(' ');
  if (space == std::string_view::npos) return {};
  auto scheme = h.substr(0, space);
  if (!boost::beast::iequals(scheme, "token") && !boost::beast::iequals(scheme, "bearer")) return {};
  auto t = h.substr(space + 1);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return t;
}

// The raw `token=` query value; percent-escapes are left alone (tokens are URL-safe).
std::string_view token_in_query(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto item = rest.substr(0, amp);
    if (item.starts_with("token=")) return item.substr(6);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto item = header.substr(0, semi);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.starts_with(name) && item[name.size()] == '=') return item.substr(name.size() + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace

bool AccessGate::denies(std::string_view route_key, bhttp::request_header<> const& head) const {
  if (!any_.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(mu_);
  auto it = routes_.find(route_key);
  if (it == routes_.end()) return false;
  auto const now = clock_.now();
  auto const& e = it->second;
  auto denied = [&](std::string_view token) {
    if (token.empty()) return false;
    auto t = e.tokens.find(crypto::hex_encode(crypto::sha256(token)));
    return t != e.tokens.end() && t->second.until > now;
  };
  if (denied(token_in_authorization(head[bhttp::field::authorization]))) return true;
  if (denied(token_in_query(head.target()))) return true;
  for (auto const& f : head) {
    if (f.name() != bhttp::field::cookie) continue;
    auto v = cookie_value(f.value(), e.cookie_name);
    if (v.empty()) continue;
    if (auto token = token_from_signed_cookie(v); token && denied(*token)) return true;
  }
  return false;
}

}  // namespace nbhub::proxy
