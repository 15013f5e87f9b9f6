#include "auth/provider.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "auth/cilogon.hpp"

namespace nbhub::auth {

namespace json = boost::json;
using config::ProviderConfig;
using config::TokenAuth;

std::string origin_of(std::string const& host) {
  if (host.find("://") != std::string::npos) {
    auto s = host;
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
  }
  return "https://" + host;
}

namespace {

void set_if_empty(std::string& field, std::string value) {
  if (field.empty()) field = std::move(value);
}

Error missing(ProviderConfig const& p, std::string_view option, std::string_view why) {
  return Error{Errc::config, fmt::format("auth.providers[{}].{}: {}", p.name, option, why)};
}

// spec/auth.md §4: the hosted-UI domain serves /oauth2/*, the user pool's issuer serves keys.
Result<void> cognito(ProviderConfig& p) {
  if (p.cognito_domain.empty() && p.authorize_url.empty())
    return missing(p, "cognito_domain", "is required for kind = \"cognito\" (e.g. "
                                        "\"myhub.auth.us-west-2.amazoncognito.com\")");
  if (!p.cognito_domain.empty()) {
    auto base = origin_of(p.cognito_domain);
    set_if_empty(p.authorize_url, base + "/oauth2/authorize");
    set_if_empty(p.token_url, base + "/oauth2/token");
    set_if_empty(p.userdata_url, base + "/oauth2/userInfo");
  }
  if (!p.cognito_region.empty() && !p.cognito_user_pool_id.empty())
    set_if_empty(p.issuer, fmt::format("https://cognito-idp.{}.amazonaws.com/{}",
                                       p.cognito_region, p.cognito_user_pool_id));
  if (!p.issuer.empty()) set_if_empty(p.jwks_url, p.issuer + "/.well-known/jwks.json");
  if (p.scope.empty()) p.scope = {"openid", "email", "profile"};
  if (p.groups_claim.empty()) p.groups_claim = "cognito:groups";
  if (p.login_service.empty()) p.login_service = "Amazon Cognito";
  return {};
}

// spec/auth.md §3.1: Keycloak behind the Custos gateway; the tenant is the last '-' part of
// the client id. The iam host is configurable instead of upstream's hard-coded map, which
// we keep as defaults.
Result<void> custos(ProviderConfig& p) {
  if (p.custos_host.empty())
    return missing(p, "custos_host", "is required for kind = \"custos\" (e.g. \"custos.scigap.org\")");
  if (p.client_id.find('-') == std::string::npos)
    return missing(p, "client_id", "a Custos client id looks like \"custos-<random>-<tenantId>\"");
  auto tenant = p.client_id.substr(p.client_id.rfind('-') + 1);
  if (p.custos_iam_host.empty()) {
    static const std::pair<const char*, const char*> kIam[] = {
        {"custos.scigap.org", "keycloak.custos.scigap.org:31000"},
        {"dev.custos.usecustos.org", "dev.keycloak.usecustos.org"},
        {"staging.custos.usecustos.org", "staging.keycloak.usecustos.org"},
        {"prod.custos.usecustos.org", "prod.keycloak.usecustos.org"}};
    for (auto [host, iam] : kIam)
      if (p.custos_host == host) p.custos_iam_host = iam;
    if (p.custos_iam_host.empty())
      return missing(p, "custos_iam_host", "is required when custos_host is not one of the "
                                           "known Custos deployments");
  }
  auto gw = origin_of(p.custos_host) + "/apiserver";
  set_if_empty(p.authorize_url, fmt::format("{}/auth/realms/{}/protocol/openid-connect/auth",
                                            origin_of(p.custos_iam_host), tenant));
  set_if_empty(p.token_url, gw + "/identity-management/v1.0.0/token");
  set_if_empty(p.userdata_url, gw + "/identity-management/v1.0.0/user");
  p.extra_authorize_params.try_emplace("kc_idp_hint", "oidc");
  p.token_auth = TokenAuth::custos_bearer_pair;
  if (p.scope.empty()) p.scope = {"openid", "email", "org.cilogon.userinfo"};
  p.login_service = "Custos Login";  // upstream forces this label
  p.username_claim = p.username_claim.empty() ? "username" : p.username_claim;
  // Custos' exchange does not forward a PKCE verifier (spec §3.1), so don't send a challenge.
  p.pkce = false;
  return {};
}

Result<void> cilogon(ProviderConfig& p) {
  auto base = origin_of(p.cilogon_host);
  set_if_empty(p.authorize_url, base + "/authorize");
  set_if_empty(p.token_url, base + "/oauth2/token");
  set_if_empty(p.userdata_url, base + "/oauth2/userinfo");
  set_if_empty(p.issuer, base);
  set_if_empty(p.jwks_url, base + "/oauth2/certs");
  if (p.scope.empty()) p.scope = {"openid", "email", "org.cilogon.userinfo", "profile"};
  for (auto s : {"openid", "org.cilogon.userinfo"})
    if (std::find(p.scope.begin(), p.scope.end(), s) == p.scope.end()) p.scope.emplace_back(s);
  if (p.login_service.empty()) p.login_service = "CILogon";
  auto idps = parse_cilogon_idps(p.idps_json);
  if (!idps) return Error{Errc::bad_request, fmt::format("auth.providers[{}].{}", p.name, idps.error().message)};
  p.cilogon_idps = std::move(*idps);
  return {};
}

}  // namespace

SignIn sign_in_of(ProviderConfig const& p) {
  if (p.kind == "dummy" || p.kind == "shared-password") return SignIn::password_form;
  if (p.kind == "null") return SignIn::none;
  return SignIn::redirect;
}

Result<ProviderConfig> apply_preset(ProviderConfig p) {
  Result<void> r;
  if (sign_in_of(p) != SignIn::redirect) {
    // JupyterHub's Dummy, SharedPassword and Null authenticators: no IdP, nothing to derive.
    return p;
  }
  if (p.kind == "cognito") r = cognito(p);
  else if (p.kind == "custos") r = custos(p);
  else if (p.kind == "cilogon") r = cilogon(p);
  else if (p.kind == "oidc") {
    if (p.issuer.empty()) r = missing(p, "issuer", "is required for kind = \"oidc\"");
    if (p.scope.empty()) p.scope = {"openid", "email", "profile"};
  } else if (p.kind == "generic") {
    if (p.authorize_url.empty() && p.issuer.empty())
      r = missing(p, "authorize_url", "is required for kind = \"generic\" unless issuer is set");
    else if (p.token_url.empty() && p.issuer.empty())
      r = missing(p, "token_url", "is required for kind = \"generic\" unless issuer is set");
  } else {
    r = missing(p, "kind", fmt::format("unknown kind \"{}\"; expected generic, oidc, cognito, "
                                       "custos, cilogon, dummy, shared-password or null", p.kind));
  }
  if (!r) return r.error();
  if (p.kind != "cilogon" && p.idps_json != "[]")
    return missing(p, "idps", "is only read for kind = \"cilogon\"");
  if (p.login_service.empty()) p.login_service = p.kind == "generic" ? "OAuth 2.0" : p.name;
  if (p.client_id.empty()) return missing(p, "client_id", "is required");
  return p;
}

boost::asio::awaitable<Result<void>> discover(ProviderConfig& p, http::HttpClient& http) {
  auto url = p.issuer;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/.well-known/openid-configuration";
  // Built before co_await: GCC 12 miscompiles string-literal temporaries inside a co_await.
  http::ClientRequest req;
  req.url = url;
  req.headers.emplace_back("Accept", "application/json");
  auto res = co_await http.send(std::move(req));
  if (!res) co_return Error{Errc::unavailable, fmt::format("auth.providers[{}].issuer: discovery failed: {}", p.name, res.error().message)};
  if (res->status != 200)
    co_return Error{Errc::unavailable, fmt::format("auth.providers[{}].issuer: discovery at {} returned HTTP {}; check the issuer URL", p.name, url, res->status)};
  boost::system::error_code ec;
  auto doc = json::parse(res->body, ec);
  if (ec || !doc.is_object())
    co_return Error{Errc::bad_gateway, fmt::format("auth.providers[{}].issuer: discovery document at {} is not a JSON object", p.name, url)};
  auto const& o = doc.get_object();
  auto str = [&](std::string_view k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
  };
  if (str("issuer") != p.issuer)
    co_return Error{Errc::bad_gateway, fmt::format("auth.providers[{}].issuer: discovery says the issuer is \"{}\", not \"{}\" (OIDC Discovery §4.3)", p.name, str("issuer"), p.issuer)};
  set_if_empty(p.authorize_url, str("authorization_endpoint"));
  set_if_empty(p.token_url, str("token_endpoint"));
  set_if_empty(p.userdata_url, str("userinfo_endpoint"));
  set_if_empty(p.jwks_url, str("jwks_uri"));
  set_if_empty(p.end_session_url, str("end_session_endpoint"));
  if (p.authorize_url.empty() || p.token_url.empty())
    co_return Error{Errc::bad_gateway, fmt::format("auth.providers[{}].issuer: discovery at {} lacks authorization_endpoint or token_endpoint", p.name, url)};
  co_return Result<void>{};
}

}  // namespace nbhub::auth
