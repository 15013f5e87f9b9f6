#include "auth/login_flow.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "auth/cilogon.hpp"
#include "auth/claims.hpp"
#include "auth/provider.hpp"
#include "core/crypto.hpp"
#include "jwt/validator.hpp"

namespace nbhub::auth {

namespace json = boost::json;
namespace net = boost::asio;
using config::ProviderConfig;
using config::TokenAuth;

struct LoginFlow::Learned {
  std::mutex mu;
  std::map<std::string, std::pair<std::string, std::string>> issuers;  // provider → (iss, jwks)
};

namespace {

constexpr std::string_view kTryAgain = " Please try again; if it keeps failing, tell your hub administrator.";

Error idp_error(Errc c, std::string what) { return Error{c, what + std::string(kTryAgain)}; }

std::string append_query(std::string const& base, std::vector<std::pair<std::string, std::string>> const& params) {
  auto sep = base.find('?') == std::string::npos ? '?' : '&';
  return base + sep + http::form_encode(params);
}

std::string json_str(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

// The payload of a JWT without verifying it: only used to read `iss` so that a provider
// configured without an issuer can be discovered (see learn_issuer).
std::optional<json::object> peek_payload(std::string_view jwt) {
  auto a = jwt.find('.');
  auto b = jwt.find('.', a == std::string_view::npos ? a : a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos) return std::nullopt;
  auto raw = crypto::base64url_decode(jwt.substr(a + 1, b - a - 1));
  if (!raw) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*raw, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string basic_pair(ProviderConfig const& p) {
  return crypto::base64_encode(p.client_id + ":" + p.client_secret.reveal());
}

// True when the username is an e-mail address that the provider itself says it has not
// verified (email_verified: false, or "false" as some send it). Anyone can put someone else's
// address on an account at a provider with self sign-up (Cognito user pools, Auth0):
// OAuthenticator's CVE-2026-33175. A provider that sends no email_verified at all is trusted
// to assert only addresses it checked (CILogon's campus IdPs), as OAuthenticator's generic
// authenticator does.
bool unverified_email_username(ProviderConfig const& p, json::object const& claims,
                               std::string const& claim) {
  bool const email_claim = claim == "email" || (claim.size() > 6 && claim.ends_with(".email"));
  if (!email_claim || p.allow_unverified_email) return false;
  auto const* v = find_claim(claims, "email_verified");
  if (!v) return false;
  if (v->is_bool()) return !v->get_bool();
  return v->is_string() && iequals_ascii(v->get_string(), "false");
}

bool requests_openid(ProviderConfig const& p) {
  return std::find(p.scope.begin(), p.scope.end(), "openid") != p.scope.end();
}

}  // namespace

LoginFlow::LoginFlow(Providers providers, SnapshotRef<config::AuthConfig> auth,
                     http::HttpClient& http, jwt::JwksCache& jwks, Clock const& clock,
                     Random& random, LoginStateSealer& sealer, spdlog::logger& log)
    : providers_(std::move(providers)), auth_(std::move(auth)), http_(http), jwks_(jwks), clock_(clock),
      random_(random), sealer_(sealer), log_(log), learned_(std::make_unique<Learned>()) {}

LoginFlow::~LoginFlow() = default;

void LoginFlow::set_providers(Providers next) {
  auto same_idp = [](ProviderConfig const& a, ProviderConfig const& b) {
    return a.authorize_url == b.authorize_url && a.token_url == b.token_url && a.issuer == b.issuer &&
           a.jwks_url == b.jwks_url && a.userdata_url == b.userdata_url && a.client_id == b.client_id;
  };
  auto const before = providers_.load();
  {
    std::lock_guard lock(learned_->mu);
    std::erase_if(learned_->issuers, [&](auto const& kv) {
      auto was = std::find_if(before->begin(), before->end(), [&](auto const& p) { return p.name == kv.first; });
      auto now = std::find_if(next.begin(), next.end(), [&](auto const& p) { return p.name == kv.first; });
      return was == before->end() || now == next.end() || !same_idp(*was, *now);
    });
  }
  providers_.store(std::move(next));
}

std::shared_ptr<const ProviderConfig> LoginFlow::find(std::string_view name) const {
  auto all = providers_.load();
  for (auto const& p : *all)
    if (p.name == name) return std::shared_ptr<const ProviderConfig>(all, &p);
  return nullptr;
}

std::string LoginFlow::redirect_uri_for(ProviderConfig const& p, std::string const& dflt) const {
  return p.oauth_callback_url.empty() ? dflt : p.oauth_callback_url;
}

Result<LoginRedirect> LoginFlow::begin(std::string const& provider, std::string const& next,
                                       std::string const& default_redirect_uri) {
  auto p = find(provider);
  if (!p) return Error{Errc::not_found, fmt::format("There is no sign-in provider called \"{}\".", provider)};
  LoginState s;
  s.provider = p->name;
  s.next = next;
  s.issued_at = clock_.unix_seconds();
  auto state = random_.token(32), nonce = random_.token(32), verifier = random_.token(32);
  if (!state || !nonce || !verifier) return Error{Errc::internal, "The system random generator failed."};
  s.state = *state;
  // `nonce` is an OpenID Connect parameter (OIDC Core §3.1.2.1): a plain OAuth2 request (no
  // `openid` scope, as GenericOAuthenticator configs without `scope`) must not carry it;
  // strict servers refuse it there. State and PKCE still bind the code to this browser.
  if (requests_openid(*p)) s.nonce = *nonce;
  if (p->pkce) s.code_verifier = *verifier;  // 32 bytes → 43 chars (RFC 7636 §4.1, §7.1)
  auto cookie = sealer_.seal(s);
  if (!cookie) return cookie.error();

  std::vector<std::pair<std::string, std::string>> q{
      {"response_type", "code"},
      {"client_id", p->client_id},
      {"redirect_uri", redirect_uri_for(*p, default_redirect_uri)},
      {"state", s.state}};
  if (!s.nonce.empty()) q.emplace_back("nonce", s.nonce);
  if (!p->scope.empty()) {
    std::string scope;
    for (auto const& sc : p->scope) scope += (scope.empty() ? "" : " ") + sc;
    q.emplace_back("scope", scope);
  }
  if (p->pkce) {
    q.emplace_back("code_challenge", crypto::base64url_encode(crypto::sha256(s.code_verifier)));
    q.emplace_back("code_challenge_method", "S256");
  }
  // CILogon offers the hub's IdPs, the default first (OAuthenticator's selected_idp); the
  // user can still pick another, which complete() refuses.
  if (p->kind == "cilogon" && !p->cilogon_idps.empty() && !p->extra_authorize_params.contains("selected_idp"))
    q.emplace_back("selected_idp", selected_idp_param(p->cilogon_idps));
  for (auto const& [k, v] : p->extra_authorize_params) q.emplace_back(k, v);
  return LoginRedirect{append_query(p->authorize_url, q), *cookie};
}

net::awaitable<Result<std::pair<Identity, std::string>>> LoginFlow::complete(
    std::multimap<std::string, std::string> query, std::string state_cookie,
    std::string default_redirect_uri) {
  auto get = [&](std::string const& k) {
    auto it = query.find(k);
    return it == query.end() ? std::string{} : it->second;
  };
  if (auto err = get("error"); !err.empty()) {
    auto desc = get("error_description");
    // Only the IdP's error code is echoed, through the page's HTML escaping; the description
    // goes to the log, as it is attacker-controllable text in a URL.
    log_.warn("login: the identity provider returned error={} ({})", err.substr(0, 64), desc.substr(0, 200));
    co_return Error{Errc::forbidden, fmt::format("The identity provider did not sign you in ({}).{}",
                                                 err.substr(0, 64), kTryAgain)};
  }
  auto code = get("code");
  auto returned_state = get("state");
  if (code.empty() || returned_state.empty()) {
    log_.warn("login: the callback has no {}", code.empty() ? "code" : "state");
    co_return Error{Errc::bad_request, "The sign-in response lacks its code or state. Please start again from the login page."};
  }
  if (state_cookie.empty()) {
    // JupyterHub's "OAuth state missing from cookies": the operator needs this line to tell
    // blocked cookies or a host mismatch (callback URL vs. the host the user opened) apart.
    log_.warn("login: state check failed: the callback came with no {} cookie (cookies blocked, "
              "the login started in another browser, or oauth_callback_url names another host)",
              LoginStateSealer::kCookieName);
    co_return Error{Errc::bad_request, "Your browser did not send the sign-in cookie back (cookies blocked, or the sign-in was started elsewhere). Please start again from the login page."};
  }
  auto st = sealer_.open(state_cookie, returned_state);
  if (!st) {
    log_.warn("login: state check failed: {}", st.error().message);
    co_return st.error();
  }
  auto p = find(st->provider);
  if (!p) co_return Error{Errc::bad_request, "The sign-in provider of this login no longer exists. Please start again."};

  auto redirect_uri = redirect_uri_for(*p, default_redirect_uri);
  auto tokens = co_await exchange_code(*p, code, std::move(redirect_uri), st->code_verifier);
  if (!tokens) co_return tokens.error();
  auto access_token = json_str(*tokens, "access_token");
  auto id_token = json_str(*tokens, "id_token");

  json::object id_claims;
  if (!id_token.empty()) {
    auto v = co_await validate_id_token(*p, id_token, st->nonce);
    if (!v) co_return v.error();
    id_claims = std::move(*v);
  } else if (p->userdata_from_id_token) {
    log_.warn("login via {}: the token response has no id_token, but userdata_from_id_token is set", p->name);
    co_return idp_error(Errc::bad_gateway, "The identity provider returned no ID token, but this hub reads the user from it (userdata_from_id_token).");
  } else if (requests_openid(*p)) {
    // OIDC Core §3.1.3.3: the answer to an `openid` request carries an ID token. Without it
    // neither issuer nor nonce can be checked, so its absence is refused, not skipped. Plain
    // OAuth2 providers (no `openid` in scope, GenericOAuthenticator's default) have no ID
    // token to check: that fail-open is by design, the access token alone vouches for them.
    log_.warn("login via {}: the token response has no id_token although the scope includes openid", p->name);
    co_return idp_error(Errc::bad_gateway, "The identity provider's answer contained no ID token, so your sign-in could not be verified.");
  }

  json::object userinfo;
  if (!p->userdata_url.empty() && !p->userdata_from_id_token) {
    auto type = json_str(*tokens, "token_type");
    auto ui = co_await fetch_userinfo(*p, access_token, type);
    if (!ui) co_return ui.error();
    userinfo = std::move(*ui);
  }
  auto merged = merge_claims(id_claims, userinfo);
  if (!merged) co_return merged.error();

  std::string raw;
  std::string allowed_by;
  std::string username_claim = p->username_claim;  // the one the username came from
  if (p->kind == "cilogon" && !p->cilogon_idps.empty()) {
    // GHSA-r7v4-jwx9-wx43: only the configured IdPs, each with its own username rule.
    auto u = cilogon_user(p->cilogon_idps, *merged);
    if (!u) {
      log_.warn("login via {}: refused: {}", p->name, u.error().message);
      co_return u.error();
    }
    raw = std::move(u->username);
    allowed_by = std::move(u->allowed_by);
    username_claim = std::move(u->username_claim);
  } else if (username_hook_ && p->name == username_hook_provider_) {
    // A callable username_claim: the function picks the name (its errors fail this login).
    auto picked = co_await username_hook_(*merged);
    if (!picked) {
      log_.warn("login via {}: username_claim failed: {}", p->name, picked.error().message);
      co_return Error{Errc::forbidden, "The hub's username_claim function could not pick a username: " + picked.error().message};
    }
    raw = std::move(*picked);
  } else if (auto const* raw_name = find_claim(*merged, p->username_claim); raw_name && raw_name->is_string()) {
    raw = std::string(raw_name->get_string());
  } else if (raw_name && raw_name->is_number()) {
    raw = json::serialize(*raw_name);
  }
  if (raw.empty()) {
    log_.warn("login via {}: claim '{}' missing; claims present: {}", p->name, p->username_claim,
              [&] { std::string k; for (auto const& kv : *merged) k += std::string(kv.key()) + " "; return k; }());
    co_return Error{Errc::forbidden, fmt::format("The identity provider did not send the claim \"{}\" that this hub uses as the username. Tell your hub administrator (option username_claim).", p->username_claim)};
  }
  if (unverified_email_username(*p, *merged, username_claim)) {
    log_.warn("login via {}: refused: the e-mail address used as the username is not verified "
              "(email_verified = false; option allow_unverified_email)", p->name);
    co_return Error{Errc::forbidden, "Your identity provider has not verified your e-mail address, "
                                     "which this hub uses as your username. Verify it there, then sign in again."};
  }
  auto name = normalize_username(raw, auth_.load()->username_map);
  if (!name) co_return name.error();

  Identity id;
  id.provider = p->name;
  id.username = *name;
  id.allowed_by = std::move(allowed_by);
  if (!p->groups_claim.empty()) id.groups = claim_strings(*merged, p->groups_claim);
  id.id_token = id_token;
  // OAuthenticator's auth_state keys (spec/auth.md §1.7), so notebooks and hooks keep working.
  auto scope_str = json_str(*tokens, "scope");
  json::array scopes;
  for (auto const& s : claim_strings(json::object{{"s", scope_str}}, "s")) scopes.emplace_back(s);
  id.auth_state = json::object{
      {"access_token", access_token},
      {"refresh_token", tokens->contains("refresh_token") ? (*tokens)["refresh_token"] : json::value(nullptr)},
      {"id_token", id_token.empty() ? json::value(nullptr) : json::value(id_token)},
      {"scope", std::move(scopes)},
      {"token_response", *tokens},
      {"oauth_user", userinfo.empty() ? id_claims : userinfo}};
  id.claims = std::move(*merged);
  co_return std::pair{std::move(id), st->next};
}

net::awaitable<Result<json::object>> LoginFlow::exchange_code(ProviderConfig const& p,
                                                              std::string code,
                                                              std::string redirect_uri,
                                                              std::string verifier) {
  http::ClientRequest req{.method = "POST", .url = p.token_url};
  req.headers = {{"Accept", "application/json"}};
  std::vector<std::pair<std::string, std::string>> form{
      {"grant_type", "authorization_code"}, {"code", code}, {"redirect_uri", redirect_uri}};
  if (!verifier.empty()) form.emplace_back("code_verifier", verifier);
  switch (p.token_auth) {
    case TokenAuth::client_secret_post:
      form.emplace_back("client_id", p.client_id);
      form.emplace_back("client_secret", p.client_secret.reveal());
      break;
    case TokenAuth::client_secret_basic:
      // RFC 6749 §2.3.1: form-encode id and secret before base64.
      req.headers.emplace_back("Authorization", "Basic " + crypto::base64_encode(
          http::form_encode({{"", p.client_id}}).substr(1) + ":" +
          http::form_encode({{"", p.client_secret.reveal()}}).substr(1)));
      break;
    case TokenAuth::custos_bearer_pair:
      // spec/auth.md §3.1: the Custos gateway takes every parameter in the query string and
      // the client pair as a "Bearer" header. Kept for compatibility; the URL is never logged.
      form.emplace_back("client_id", p.client_id);
      form.emplace_back("client_secret", p.client_secret.reveal());
      req.headers.emplace_back("Authorization", "Bearer " + basic_pair(p));
      break;
  }
  for (auto const& [k, v] : p.token_params) form.emplace_back(k, v);
  if (p.token_auth == TokenAuth::custos_bearer_pair) {
    req.url = append_query(p.token_url, form);
  } else {
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = http::form_encode(form);
  }

  auto res = co_await http_.send(std::move(req));
  if (!res) {
    log_.warn("login via {}: token request failed: {}", p.name, res.error().message);
    co_return idp_error(Errc::unavailable, "The identity provider could not be reached to finish your sign-in.");
  }
  boost::system::error_code ec;
  auto body = json::parse(res->body, ec);
  if (res->status >= 500) {
    log_.warn("login via {}: token endpoint answered HTTP {}", p.name, res->status);
    co_return idp_error(Errc::unavailable, fmt::format("The identity provider had an internal error (HTTP {}) while finishing your sign-in.", res->status));
  }
  if (ec || !body.is_object()) {
    log_.warn("login via {}: token endpoint answered HTTP {} with a body that is not a JSON object", p.name, res->status);
    co_return idp_error(Errc::bad_gateway, "The identity provider's answer could not be read.");
  }
  auto& obj = body.get_object();
  if (res->status != 200 || obj.contains("error")) {
    auto err = json_str(obj, "error");
    log_.warn("login via {}: token endpoint refused the code: HTTP {} error={} {}", p.name, res->status, err, json_str(obj, "error_description").substr(0, 200));
    co_return idp_error(Errc::forbidden, fmt::format("The identity provider refused to finish your sign-in ({}).", err.empty() ? "HTTP " + std::to_string(res->status) : err.substr(0, 64)));
  }
  if (json_str(obj, "access_token").empty()) {
    log_.warn("login via {}: token response has no access_token", p.name);
    co_return idp_error(Errc::bad_gateway, "The identity provider's answer contained no access token.");
  }
  co_return std::move(obj);
}

net::awaitable<Result<std::string>> LoginFlow::learn_issuer(ProviderConfig const& p, std::string id_token) {
  {
    std::lock_guard lock(learned_->mu);
    if (auto it = learned_->issuers.find(p.name); it != learned_->issuers.end()) co_return it->second.first;
  }
  // A provider configured without `issuer` (GenericOAuthenticator configs never have one):
  // trust-on-first-use of the `iss` in the ID token that we just received over TLS from the
  // configured token endpoint, then require discovery to confirm it and serve the keys, so
  // every ID token is still signature-checked. The issuer is pinned for the process.
  auto payload = peek_payload(id_token);
  auto iss = payload ? json_str(*payload, "iss") : "";
  auto url = boost::urls::parse_absolute_uri(iss);
  if (iss.empty() || !url || (url->scheme() != "https" && url->host() != "127.0.0.1" && url->host() != "localhost"))
    co_return idp_error(Errc::unauthorized, "The identity provider's ID token names no usable issuer.");
  ProviderConfig probe = p;
  probe.issuer = iss;
  probe.authorize_url = probe.token_url = probe.userdata_url = probe.jwks_url = "";
  auto d = co_await discover(probe, http_);
  if (!d) {
    log_.warn("login via {}: cannot validate the ID token: {}. Set issuer and jwks_url for this provider.", p.name, d.error().message);
    co_return idp_error(Errc::unavailable, "The identity provider's signing keys could not be found.");
  }
  log_.warn("login via {}: no issuer configured; pinned issuer {} from the first ID token (set auth.providers.issuer to make this explicit)", p.name, iss);
  std::lock_guard lock(learned_->mu);
  auto [it, _] = learned_->issuers.try_emplace(p.name, iss, probe.jwks_url);
  co_return it->second.first;
}

net::awaitable<Result<json::object>> LoginFlow::validate_id_token(ProviderConfig const& p,
                                                                  std::string id_token,
                                                                  std::string nonce) {
  std::string issuer = p.issuer, jwks_url = p.jwks_url;
  if (issuer.empty() || jwks_url.empty()) {
    auto learned = co_await learn_issuer(p, id_token);
    if (!learned) co_return learned.error();
    std::lock_guard lock(learned_->mu);
    std::tie(issuer, jwks_url) = learned_->issuers[p.name];
    if (!p.issuer.empty()) issuer = p.issuer;
    if (!p.jwks_url.empty()) jwks_url = p.jwks_url;
  }
  jwt::Expectations exp;
  exp.issuer = issuer;
  exp.audiences = {p.client_id};
  exp.azp_client_id = p.client_id;
  // No nonce was sent without `openid` in the scope; an ID token that comes anyway (Cognito
  // grants every allowed scope to a request without one) is still checked for all the rest.
  if (!nonce.empty()) exp.nonce = nonce;
  exp.allowed_algs = p.id_token_algs;
  exp.leeway = p.leeway;
  exp.require_sub = true;
  exp.token_name = "ID token";
  jwt::Validator validator(jwks_, clock_);
  auto claims = co_await validator.validate(id_token, exp, jwks_url);
  if (!claims) {
    log_.warn("login via {}: ID token rejected ({}): {}", p.name, jwt::to_string(claims.error().code), claims.error().message);
    co_return idp_error(claims.error().code == jwt::JwtCode::jwks_unavailable ? Errc::unavailable : Errc::unauthorized,
                        "The identity provider's ID token failed validation, so the sign-in was refused.");
  }
  co_return claims->json();
}

net::awaitable<Result<json::object>> LoginFlow::fetch_userinfo(ProviderConfig const& p,
                                                               std::string access_token,
                                                               std::string token_type) {
  http::ClientRequest req{.method = "GET", .url = p.userdata_url};
  std::vector<std::pair<std::string, std::string>> params(p.userdata_params.begin(), p.userdata_params.end());
  req.headers = {{"Accept", "application/json"}};
  if (p.token_auth == TokenAuth::custos_bearer_pair) {
    params.emplace_back("access_token", access_token);
    req.headers.emplace_back("Authorization", "Bearer " + basic_pair(p));
  } else {
    // A case-insensitive "bearer" becomes "Bearer" (oauthenticator 16.2 fixed the same).
    bool bearer = token_type.empty() || iequals_ascii(token_type, "bearer");
    req.headers.emplace_back("Authorization", (bearer ? std::string("Bearer") : token_type) + " " + access_token);
  }
  if (!params.empty()) req.url = append_query(req.url, params);
  auto res = co_await http_.send(std::move(req));
  if (!res) {
    log_.warn("login via {}: userinfo request failed: {}", p.name, res.error().message);
    co_return idp_error(Errc::unavailable, "The identity provider could not be reached for your profile.");
  }
  if (res->status != 200) {
    log_.warn("login via {}: userinfo answered HTTP {}", p.name, res->status);
    co_return idp_error(res->status >= 500 ? Errc::unavailable : Errc::bad_gateway,
                        fmt::format("The identity provider refused to send your profile (HTTP {}).", res->status));
  }
  boost::system::error_code ec;
  auto body = json::parse(res->body, ec);
  if (ec || !body.is_object()) {
    log_.warn("login via {}: userinfo answer is not a JSON object", p.name);
    co_return idp_error(Errc::bad_gateway, "The identity provider's profile answer could not be read.");
  }
  co_return std::move(body.get_object());
}

std::string LoginFlow::logout_url(std::string const& provider, std::string const& id_token,
                                  std::string const& post_logout_url) const {
  auto p = find(provider);
  if (!p) return "";
  if (!p->logout_redirect_url.empty()) return p->logout_redirect_url;
  if (!p->idp_logout) return "";
  if (p->kind == "cognito" && !p->cognito_domain.empty()) {
    // spec/auth.md §4.5: Cognito's own logout endpoint, not OIDC RP-initiated logout.
    return append_query(origin_of(p->cognito_domain) + "/logout",
                        {{"client_id", p->client_id}, {"logout_uri", post_logout_url}});
  }
  if (p->end_session_url.empty()) return "";
  std::vector<std::pair<std::string, std::string>> q{{"client_id", p->client_id},
                                                     {"post_logout_redirect_uri", post_logout_url}};
  if (!id_token.empty()) q.emplace_back("id_token_hint", id_token);
  return append_query(p->end_session_url, q);
}

}  // namespace nbhub::auth
