#include "hub/bearer_auth.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/claims.hpp"
#include "auth/refresh.hpp"
#include "core/crypto.hpp"
#include "jwt/validator.hpp"

namespace nbhub::hub {

namespace net = boost::asio;
namespace json = boost::json;

BearerAuth::BearerAuth(SnapshotRef<std::vector<config::ProviderConfig>> providers,
                       SnapshotRef<std::map<std::string, std::string>> username_map, jwt::JwksCache& jwks,
                       Clock const& clock, spdlog::logger& log, std::size_t max_cached)
    : providers_(std::move(providers)), username_map_(std::move(username_map)), jwks_(jwks), clock_(clock), log_(log),
      max_cached_(max_cached) {
  for (auto const& p : *providers_.load()) {
    if (p.bearer_tokens && (p.issuer.empty() || p.jwks_url.empty()))
      log_.warn("auth.providers[{}]: bearer_tokens is on but the provider has no issuer/jwks_url "
                "(set issuer for discovery): its tokens are refused", p.name);
  }
}

bool BearerAuth::enabled() const {
  auto const all = providers_.load();
  return std::any_of(all->begin(), all->end(), [](config::ProviderConfig const& p) {
    return p.bearer_tokens && !p.issuer.empty() && !p.jwks_url.empty();
  });
}

void BearerAuth::forget_cached() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

bool BearerAuth::looks_like_jwt(std::string_view t) {
  return std::count(t.begin(), t.end(), '.') == 2 && t.size() > 10;
}

BearerStats BearerAuth::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<BearerPrincipal> BearerAuth::principal_for(config::ProviderConfig const& p,
                                                  json::object const& claims) const {
  BearerPrincipal out;
  out.provider = p.name;
  out.client_id = auth::json_string(claims, "client_id");
  if (out.client_id.empty()) out.client_id = auth::json_string(claims, "azp");
  if (auto const* e = claims.if_contains("exp"); e && e->is_number()) out.expires_at = e->to_number<std::int64_t>();

  // Scopes granted through bearer_scopes, for the token's `scope` (space-separated or a list).
  for (auto const& s : auth::claim_strings(claims, "scope")) {
    auto it = p.bearer_scopes.find(s);
    if (it == p.bearer_scopes.end()) continue;
    for (auto const& granted : auth::claim_strings(json::object{{"s", it->second}}, "s"))
      out.scopes.push_back(granted);
  }
  auto const* raw_user = auth::find_claim(claims, p.username_claim);
  bool names_user = raw_user && raw_user->is_string() && !raw_user->get_string().empty();
  if (auto svc = p.bearer_services.find(out.client_id); svc != p.bearer_services.end() && !names_user) {
    out.service = svc->second;
    return out;
  }
  if (!names_user)
    return Error{Errc::unauthorized,
                 fmt::format("The token names no hub user (claim '{}') and its client '{}' is not one of "
                             "the services configured in bearer_services.",
                             p.username_claim, out.client_id)};
  auto name = auth::normalize_username(std::string(raw_user->get_string()), *username_map_.load());
  if (!name) return Error{Errc::unauthorized, "The token's username is not usable: " + name.error().message};
  out.user = *name;
  return out;
}

net::awaitable<Result<BearerPrincipal>> BearerAuth::authenticate(std::string token) {
  auto key = crypto::hex_encode(crypto::sha256(token));
  auto now = clock_.unix_seconds();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires_at > now) {
        ++stats_.cache_hits;
        co_return it->second;
      }
      cache_.erase(it);
    }
  }
  auto refuse = [&](Error e, bool logged = false) -> Result<BearerPrincipal> {
    if (!logged) log_.info("bearer token refused: {}", e.message);
    std::lock_guard lock(mu_);
    ++stats_.refused;
    return e;
  };
  // The issuer picks the provider; the signature check below then proves it.
  auto payload = auth::unverified_payload(token);
  if (!payload) co_return refuse(Error{Errc::unauthorized, "The bearer token is not a readable JWT."});
  auto iss = auth::json_string(*payload, "iss");
  auto const providers = providers_.load();  // held to the end: `p` points into it
  config::ProviderConfig const* p = nullptr;
  for (auto const& cand : *providers)
    if (cand.bearer_tokens && !cand.issuer.empty() && !cand.jwks_url.empty() && cand.issuer == iss) p = &cand;
  if (!p)
    co_return refuse(Error{Errc::unauthorized,
                           fmt::format("The bearer token's issuer '{}' is not accepted by this hub.", iss.substr(0, 200))});
  if (auth::json_string(*payload, "token_use") == "id")
    co_return refuse(Error{Errc::unauthorized, "An ID token is not an access token: send the access token."});

  jwt::Expectations x;
  x.issuer = p->issuer;
  x.allowed_algs = p->bearer_algs;
  x.leeway = p->leeway;
  x.token_name = "access token";
  x.allowed_client_ids = p->bearer_client_ids;
  x.audiences = p->bearer_audiences;
  if (x.audiences.empty() && x.allowed_client_ids.empty()) x.audiences = {p->client_id};
  if (p->kind == "cognito") x.token_use = "access";
  // Several audiences with an azp: that check is for ID tokens of our own client; for an
  // access token the aud list above is the check, so the token's own azp is passed through.
  x.azp_client_id = auth::json_string(*payload, "azp");
  jwt::Validator validator(jwks_, clock_);
  auto claims = co_await validator.validate(token, x, p->jwks_url);
  if (!claims) {
    log_.info("bearer token via {} refused ({}): {}", p->name, jwt::to_string(claims.error().code), claims.error().message);
    auto code = claims.error().code == jwt::JwtCode::jwks_unavailable ? Errc::unavailable : Errc::unauthorized;
    co_return refuse(Error{code, "The bearer " + claims.error().message + "."}, true);
  }
  auto principal = principal_for(*p, claims->json());
  if (!principal) co_return refuse(principal.error());
  if (principal->expires_at == 0) principal->expires_at = now + 60;  // require_exp makes this rare
  std::lock_guard lock(mu_);
  ++stats_.validated;
  if (cache_.size() >= max_cached_) {
    // Drop the expired ones first; if that frees nothing, start over (bounded memory beats a
    // perfect hit rate under a flood of distinct valid tokens).
    std::erase_if(cache_, [now](auto const& kv) { return kv.second.expires_at <= now; });
    if (cache_.size() >= max_cached_) cache_.clear();
  }
  cache_[key] = *principal;
  co_return std::move(*principal);
}

}  // namespace nbhub::hub
