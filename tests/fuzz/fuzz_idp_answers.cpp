// An identity provider's answers (token endpoint, userinfo, JWKS), from an IdP that is broken,
// hostile, or impersonated by whoever sits between the hub and it. The real LoginFlow runs a
// sign-in callback against answers taken from the input (scripted_http.hpp), for a plain
// OAuth2 provider (userinfo decides), an OIDC one (ID token and JWKS) and CILogon with per-IdP
// rules (auth/cilogon.hpp); then a refresh of the tokens it got. Nothing may crash or throw; a
// sign-in that succeeds has a non-empty, normalised username, and a CILogon one came through a
// listed IdP.
#include <fuzzer/FuzzedDataProvider.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/url/parse.hpp>

#include <cstdint>
#include <cstdlib>

#include "auth/cilogon.hpp"
#include "auth/login_flow.hpp"
#include "auth/login_state.hpp"
#include "auth/refresh.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "fuzz_log.hpp"
#include "jwt/jwks_cache.hpp"
#include "scripted_http.hpp"

namespace net = boost::asio;
namespace json = boost::json;
using namespace nbhub;

namespace {

std::vector<config::ProviderConfig> providers() {
  config::ProviderConfig plain;
  plain.name = "plain";
  plain.kind = "generic";
  plain.client_id = "cid";
  plain.client_secret = Secret("csecret");
  plain.authorize_url = "https://idp.test/authorize";
  plain.token_url = "https://idp.test/token";
  plain.userdata_url = "https://idp.test/userinfo";
  plain.username_claim = "email";
  plain.groups_claim = "groups";

  config::ProviderConfig oidc = plain;
  oidc.name = "oidc";
  oidc.kind = "oidc";
  oidc.issuer = "https://idp.test";
  oidc.jwks_url = "https://idp.test/jwks";
  oidc.scope = {"openid", "email"};
  oidc.username_claim = "preferred_username";

  config::ProviderConfig cilogon = plain;
  cilogon.name = "cilogon";
  cilogon.kind = "cilogon";
  cilogon.scope = {"email", "org.cilogon.userinfo"};
  auto idps = auth::parse_cilogon_idps(R"([
    {"entity_id": "https://idp.a.edu/", "allow_all": true,
     "username_derivation": {"username_claim": "email", "action": "strip_idp_domain", "domain": "a.edu"}},
    {"entity_id": "urn:gh", "allowed_domains": ["*.b.org", "c.org"], "allowed_domains_claim": "mail",
     "username_derivation": {"username_claim": "login.name", "action": "prefix", "prefix": "gh"}}])");
  if (!idps) std::abort();
  cilogon.cilogon_idps = *idps;
  return {plain, oidc, cilogon};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  auto& log = fuzz::quiet_logger();
  static auto const configured = providers();
  static config::AuthConfig const auth_cfg;
  FuzzedDataProvider in(data, size);
  fuzz::ScriptedHttp http(in);
  SystemClock clock;
  FakeRandom random;
  jwt::JwksCache jwks(http, clock);
  auth::LoginStateSealer sealer(Secret(std::string(32, 'k')), clock, random, std::chrono::seconds(600));
  auth::LoginFlow flow(configured, auth_cfg, http, jwks, clock, random, sealer, log);

  auto const& p = configured[in.ConsumeIntegralInRange<std::size_t>(0, configured.size() - 1)];
  auto redirect = flow.begin(p.name, "/hub/home", "https://hub.test/hub/oauth_callback");
  if (!redirect) std::abort();
  auto url = boost::urls::parse_uri(redirect->location);
  if (!url) std::abort();
  std::multimap<std::string, std::string> query{{"code", "c0de"}};
  for (auto q : url->params())
    if (q.key == "state") query.emplace("state", q.value);

  net::io_context ioc;
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    auto r = co_await flow.complete(query, redirect->state_cookie, "https://hub.test/hub/oauth_callback");
    if (!r) co_return;
    auto const& id = r->first;
    if (id.username.empty()) std::abort();
    for (char c : id.username)
      if (c >= 'A' && c <= 'Z') std::abort();  // normalised to lower case
    if (p.kind == "cilogon") {
      auto const* idp = id.claims.if_contains("idp");
      if (!idp || !idp->is_string() || (idp->as_string() != "https://idp.a.edu/" && idp->as_string() != "urn:gh"))
        std::abort();
    }
    // The refresh of what it got, as the token refresher does it.
    auto rt = auth::json_string(id.auth_state, "refresh_token");
    auto refreshed = co_await auth::refresh_grant(p, http, rt.empty() ? "r" : rt, log);
    if (refreshed) {
      auto merged = auth::merge_refreshed(id.auth_state, *refreshed, 1700000000);
      (void)auth::access_token_expiry(merged, 1700000000);
    }
    (void)auth::access_token_expiry(id.auth_state, std::nullopt);
  }, [](std::exception_ptr e) { if (e) std::abort(); });
  ioc.run();
  return 0;
}
