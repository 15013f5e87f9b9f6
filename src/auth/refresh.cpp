#include "auth/refresh.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/claims.hpp"
#include "core/crypto.hpp"

namespace nbhub::auth {

namespace json = boost::json;
namespace net = boost::asio;
using config::ProviderConfig;
using config::TokenAuth;

std::string json_string(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

std::optional<json::object> unverified_payload(std::string_view jwt) {
  auto a = jwt.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = jwt.find('.', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto raw = crypto::base64url_decode(jwt.substr(a + 1, b - a - 1));
  if (!raw) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*raw, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

namespace {

std::optional<std::int64_t> as_int(json::value const* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  if (v->is_string()) {
    try { return std::stoll(std::string(v->get_string())); } catch (...) { return std::nullopt; }
  }
  return std::nullopt;
}

// One POST to the token endpoint with the client authenticated as configured. `what` names
// the grant in logs ("refresh", "client credentials").
net::awaitable<Result<json::object>> token_request(ProviderConfig const& p, http::HttpClient& http,
                                                   std::vector<std::pair<std::string, std::string>> form,
                                                   std::string_view what, spdlog::logger& log) {
  if (p.token_url.empty())
    co_return Error{Errc::config, fmt::format("Provider {} has no token_url.", p.name)};
  http::ClientRequest req{.method = "POST", .url = p.token_url};
  req.headers = {{"Accept", "application/json"}};
  switch (p.token_auth) {
    case TokenAuth::client_secret_post:
      form.emplace_back("client_id", p.client_id);
      form.emplace_back("client_secret", p.client_secret.reveal());
      break;
    case TokenAuth::client_secret_basic:
      req.headers.emplace_back("Authorization", http::basic_auth_header(p.client_id, p.client_secret.reveal()));
      break;
    case TokenAuth::custos_bearer_pair:
      // spec/auth.md §3.1: the Custos gateway takes its parameters in the query string.
      form.emplace_back("client_id", p.client_id);
      form.emplace_back("client_secret", p.client_secret.reveal());
      req.headers.emplace_back("Authorization", "Bearer " + crypto::base64_encode(p.client_id + ":" + p.client_secret.reveal()));
      break;
  }
  if (p.token_auth == TokenAuth::custos_bearer_pair) {
    req.url += (req.url.find('?') == std::string::npos ? "?" : "&") + http::form_encode(form);
  } else {
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = http::form_encode(form);
  }
  auto res = co_await http.send(std::move(req));
  if (!res) {
    log.warn("{} at {}: token request failed: {}", what, p.name, res.error().message);
    co_return Error{Errc::unavailable, fmt::format("The identity provider {} could not be reached.", p.name)};
  }
  if (res->status >= 500) {
    log.warn("{} at {}: token endpoint answered HTTP {}", what, p.name, res->status);
    co_return Error{Errc::unavailable, fmt::format("The identity provider {} had an internal error (HTTP {}).", p.name, res->status)};
  }
  boost::system::error_code ec;
  auto body = json::parse(res->body, ec);
  if (ec || !body.is_object()) {
    log.warn("{} at {}: token endpoint answered HTTP {} with a body that is not a JSON object", what, p.name, res->status);
    co_return Error{Errc::bad_gateway, fmt::format("The identity provider {} sent an unreadable answer.", p.name)};
  }
  auto& obj = body.get_object();
  if (res->status != 200 || obj.contains("error")) {
    auto err = json_string(obj, "error");
    log.warn("{} at {}: refused: HTTP {} error={} {}", what, p.name, res->status, err.substr(0, 64),
             json_string(obj, "error_description").substr(0, 200));
    co_return Error{Errc::unauthorized, fmt::format("The identity provider {} refused the {} ({}).", p.name, what,
                                                    err.empty() ? "HTTP " + std::to_string(res->status) : err.substr(0, 64))};
  }
  if (json_string(obj, "access_token").empty()) {
    log.warn("{} at {}: the answer has no access_token", what, p.name);
    co_return Error{Errc::bad_gateway, fmt::format("The identity provider {} sent no access token.", p.name)};
  }
  co_return std::move(obj);
}

}  // namespace

net::awaitable<Result<json::object>> refresh_grant(ProviderConfig const& p, http::HttpClient& http,
                                                   std::string refresh_token, spdlog::logger& log) {
  // token_params are deliberately not added: they belong to the code exchange (spec §1.9).
  std::vector<std::pair<std::string, std::string>> form{{"grant_type", "refresh_token"},
                                                        {"refresh_token", std::move(refresh_token)}};
  auto r = co_await token_request(p, http, std::move(form), "refresh", log);
  co_return r;
}

net::awaitable<Result<json::object>> client_credentials_grant(ProviderConfig const& p, http::HttpClient& http,
                                                              std::string scope, spdlog::logger& log) {
  std::vector<std::pair<std::string, std::string>> form{{"grant_type", "client_credentials"}};
  if (!scope.empty()) form.emplace_back("scope", std::move(scope));
  auto r = co_await token_request(p, http, std::move(form), "client credentials", log);
  co_return r;
}

std::optional<std::int64_t> access_token_expiry(json::object const& auth_state,
                                                std::optional<std::int64_t> refreshed_at) {
  if (auto it = auth_state.find("expires_at"); it != auth_state.end())
    if (auto v = as_int(&it->value())) return v;
  if (auto payload = unverified_payload(json_string(auth_state, "access_token")))
    if (auto it = payload->find("exp"); it != payload->end())
      if (auto v = as_int(&it->value())) return v;
  if (refreshed_at) {
    if (auto tr = auth_state.find("token_response"); tr != auth_state.end() && tr->value().is_object())
      if (auto ei = tr->value().get_object().find("expires_in"); ei != tr->value().get_object().end())
        if (auto v = as_int(&ei->value())) return *refreshed_at + *v;
  }
  return std::nullopt;
}

json::object merge_refreshed(json::object auth_state, json::object const& token_response,
                             std::int64_t now_unix) {
  json::object tr = token_response;
  auth_state["access_token"] = json_string(tr, "access_token");
  if (auto id = json_string(tr, "id_token"); !id.empty()) auth_state["id_token"] = id;
  if (auto rt = json_string(tr, "refresh_token"); !rt.empty()) {
    auth_state["refresh_token"] = rt;  // rotation: the old one is dead now
  } else if (auto old = json_string(auth_state, "refresh_token"); !old.empty()) {
    tr["refresh_token"] = old;  // OAuthenticator keeps the old one in token_response too
  }
  if (auto sc = json_string(tr, "scope"); !sc.empty()) {
    json::array scopes;
    for (auto const& s : claim_strings(json::object{{"s", sc}}, "s")) scopes.emplace_back(s);
    auth_state["scope"] = std::move(scopes);
  }
  auto ttl = as_int(tr.if_contains("expires_in"));
  std::optional<std::int64_t> exp;
  if (auto payload = unverified_payload(json_string(tr, "access_token")))
    exp = as_int(payload->if_contains("exp"));
  if (!exp && ttl) exp = now_unix + *ttl;
  if (exp) auth_state["expires_at"] = *exp;
  else auth_state.erase("expires_at");
  auth_state["refreshed_at"] = now_unix;
  auth_state["token_response"] = std::move(tr);
  return auth_state;
}

}  // namespace nbhub::auth
