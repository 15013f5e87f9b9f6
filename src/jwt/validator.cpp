#include "jwt/validator.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include <boost/json/parse.hpp>

#include "core/crypto.hpp"
#include "jwt/jws.hpp"

namespace nbhub::jwt {
namespace {

JwtError err(JwtCode c, std::string msg) { return JwtError{c, std::move(msg)}; }

std::string iso(std::int64_t unix_s) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(unix_s)));
}

std::string quoted_list(std::vector<std::string> const& v) {
  std::string out;
  for (auto const& s : v) out += fmt::format("{}'{}'", out.empty() ? "" : ", ", s);
  return "[" + out + "]";
}

// A string claim: nullopt when absent; malformed error when present but not a string.
JwtResult<std::optional<std::string_view>> string_claim(boost::json::object const& o,
                                                        std::string_view name) {
  auto const* v = o.if_contains(name);
  if (!v) return std::optional<std::string_view>{};
  if (!v->is_string())
    return err(JwtCode::malformed, fmt::format("token claim '{}' is not a string", name));
  return std::optional<std::string_view>{std::string_view(v->get_string())};
}

JwtResult<std::optional<std::int64_t>> date_claim(boost::json::object const& o,
                                                  std::string_view name) {
  auto const* v = o.if_contains(name);
  if (!v) return std::optional<std::int64_t>{};
  auto d = numeric_date(*v);
  if (!d)
    return err(JwtCode::malformed,
               fmt::format("token claim '{}' is not a NumericDate (seconds since 1970)", name));
  return std::optional<std::int64_t>{*d};
}

JwtResult<void> check_issuer(boost::json::object const& o, Expectations const& x) {
  if (x.issuer.empty())
    return err(JwtCode::wrong_issuer, "token cannot be accepted: no expected issuer is configured");
  auto iss = string_claim(o, "iss");
  if (!iss) return iss.error();
  if (!*iss)
    return err(JwtCode::missing_claim,
               fmt::format("token has no 'iss' claim; expected '{}'", x.issuer));
  if (**iss != x.issuer)
    return err(JwtCode::wrong_issuer,
               fmt::format("token has issuer '{}', but this provider's issuer is '{}' (compared "
                           "exactly, including any trailing slash)",
                           **iss, x.issuer));
  return {};
}

JwtResult<void> check_token_use(boost::json::object const& o, Expectations const& x) {
  if (!x.token_use) return {};
  auto use = string_claim(o, "token_use");
  if (!use) return use.error();
  if (!*use)
    return err(JwtCode::missing_claim,
               fmt::format("token has no 'token_use' claim; expected '{}'", *x.token_use));
  if (**use != *x.token_use)
    return err(JwtCode::wrong_token_use,
               fmt::format("token has token_use '{}', expected '{}' (Cognito ID tokens say 'id', "
                           "access tokens 'access')",
                           **use, *x.token_use));
  return {};
}

JwtResult<void> check_subject(boost::json::object const& o, Expectations const& x) {
  if (!x.require_sub) return {};
  auto sub = string_claim(o, "sub");
  if (!sub) return sub.error();
  if (!*sub || (*sub)->empty())
    return err(JwtCode::missing_claim,
               fmt::format("token has {} 'sub' claim; OpenID Connect requires one naming the "
                           "user (OIDC Core §2)",
                           *sub ? "an empty" : "no"));
  return {};
}

// `aud` as a list; malformed unless a string or an array of strings.
JwtResult<std::optional<std::vector<std::string>>> aud_claim(boost::json::object const& o) {
  auto const* v = o.if_contains("aud");
  if (!v) return std::optional<std::vector<std::string>>{};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.emplace_back(v->get_string());
  } else if (auto const* arr = v->if_array(); arr && !arr->empty()) {
    for (auto const& e : *arr) {
      if (!e.is_string()) break;
      out.emplace_back(e.get_string());
    }
    if (out.size() != arr->size()) out.clear();
  }
  if (out.empty())
    return err(JwtCode::malformed,
               "token claim 'aud' must be a string or a non-empty array of strings");
  return std::optional<std::vector<std::string>>{std::move(out)};
}

JwtResult<void> check_audience(boost::json::object const& o, Expectations const& x) {
  auto aud = aud_claim(o);
  if (!aud) return aud.error();
  if (!x.audiences.empty()) {
    if (!*aud)
      return err(JwtCode::missing_claim,
                 fmt::format("token has no 'aud' claim; expected one of {}{}",
                             quoted_list(x.audiences),
                             o.contains("client_id")
                                 ? " (it has 'client_id': a Cognito access token? Those are "
                                   "checked with allowed_client_ids, not audiences)"
                                 : ""));
    bool const match = std::any_of((*aud)->begin(), (*aud)->end(), [&](auto const& a) {
      return std::find(x.audiences.begin(), x.audiences.end(), a) != x.audiences.end();
    });
    if (!match)
      return err(JwtCode::wrong_audience,
                 fmt::format("token audience {} does not include any of {}; check the client id",
                             quoted_list(**aud), quoted_list(x.audiences)));
  }
  // OIDC Core 3.1.3.7 (4)-(5): several audiences and an azp -> azp must be our client id. A
  // multi-audience token without azp passes (the spec says SHOULD, and Google omits it).
  if (*aud && (*aud)->size() > 1) {
    auto azp = string_claim(o, "azp");
    if (!azp) return azp.error();
    if (*azp && x.azp_client_id.empty())
      return err(JwtCode::wrong_azp,
                 fmt::format("token has several audiences and azp '{}', but no client id is "
                             "configured to compare it with",
                             **azp));
    if (*azp && **azp != x.azp_client_id)
      return err(JwtCode::wrong_azp,
                 fmt::format("token has several audiences and was issued to azp '{}', not to "
                             "this hub's client '{}'",
                             **azp, x.azp_client_id));
  }
  return {};
}

JwtResult<void> check_client_id(boost::json::object const& o, Expectations const& x) {
  if (x.allowed_client_ids.empty()) return {};
  auto cid = string_claim(o, "client_id");
  if (!cid) return cid.error();
  if (!*cid)
    return err(JwtCode::missing_claim,
               fmt::format("token has no 'client_id' claim; expected one of {}",
                           quoted_list(x.allowed_client_ids)));
  auto const& ids = x.allowed_client_ids;
  if (std::find(ids.begin(), ids.end(), **cid) == ids.end())
    return err(JwtCode::client_not_allowed,
               fmt::format("token was issued to client_id '{}', which is not in "
                           "allowed_client_ids {}",
                           **cid, quoted_list(ids)));
  return {};
}

JwtResult<void> check_times(boost::json::object const& o, Expectations const& x,
                            std::int64_t now) {
  auto const leeway = x.leeway.count();
  auto exp = date_claim(o, "exp");
  if (!exp) return exp.error();
  if (!*exp && x.require_exp) return err(JwtCode::missing_claim, "token has no 'exp' claim");
  // RFC 7519 §4.1.4: reject on or after exp (plus leeway).
  if (*exp && **exp <= now - leeway)
    return err(JwtCode::expired, fmt::format("token expired at {} ({} s ago; leeway {} s)",
                                             iso(**exp), now - **exp, leeway));

  auto nbf = date_claim(o, "nbf");
  if (!nbf) return nbf.error();
  if (*nbf && **nbf > now + leeway)
    return err(JwtCode::not_yet_valid,
               fmt::format("token is not valid before {} ({} s from now; leeway {} s); check the "
                           "clocks of the hub and the provider",
                           iso(**nbf), **nbf - now, leeway));

  auto iat = date_claim(o, "iat");
  if (!iat) return iat.error();
  if (*iat && **iat > now + leeway)
    return err(JwtCode::issued_in_future,
               fmt::format("token was issued at {}, {} s in the future (leeway {} s); check the "
                           "clocks of the hub and the provider",
                           iso(**iat), **iat - now, leeway));
  if (x.max_age_since_iat) {
    if (!*iat)
      return err(JwtCode::missing_claim, "token has no 'iat' claim, needed for its maximum age");
    auto const max_age = x.max_age_since_iat->count();
    if (now - **iat > max_age + leeway)
      return err(JwtCode::expired,
                 fmt::format("token was issued {} s ago, more than the allowed {} s (leeway {} s)",
                             now - **iat, max_age, leeway));
  }
  return {};
}

JwtResult<void> check_nonce(boost::json::object const& o, Expectations const& x) {
  if (!x.nonce) return {};
  auto nonce = string_claim(o, "nonce");
  if (!nonce) return nonce.error();
  if (!*nonce)
    return err(JwtCode::missing_claim,
               "token has no 'nonce' claim, but the login request sent one");
  if (!crypto::equal_ct(**nonce, *x.nonce))
    return err(JwtCode::wrong_nonce,
               "token nonce does not match the one sent with this login request (a replayed or "
               "crossed login); ask the user to sign in again");
  return {};
}

template <class T>
JwtResult<T> named(JwtResult<T> r, Expectations const& x) {
  if (r) return r;
  auto e = r.error();  // error() returns a copy
  e.rename_subject(x.token_name);
  return e;
}

JwtResult<Jws> parse_checked(std::string_view jwt, Expectations const& x) {
  auto jws = Jws::parse(jwt);
  if (!jws) return jws;
  if (auto ok = check_alg_allowed(*jws, x.allowed_algs); !ok) return ok.error();
  return jws;
}

JwtResult<void> check_claims_unnamed(Claims const& claims, Expectations const& x,
                                     Clock const& clock) {
  auto const& o = claims.json();
  for (auto const& check :
       {check_issuer, check_token_use, check_subject, check_audience, check_client_id})
    if (auto ok = check(o, x); !ok) return ok;
  if (auto ok = check_times(o, x, clock.unix_seconds()); !ok) return ok;
  return check_nonce(o, x);
}

JwtResult<Claims> verify_and_check(Jws const& jws, Jwk const& key, Expectations const& x,
                                   Clock const& clock) {
  if (auto ok = verify_signature(jws, key); !ok) return ok.error();
  boost::system::error_code ec;
  auto payload = boost::json::parse(jws.payload(), ec);
  if (ec || !payload.is_object())
    return err(JwtCode::malformed, "token payload is not a JSON object");
  Claims claims(std::move(payload.get_object()));
  if (auto ok = check_claims_unnamed(claims, x, clock); !ok) return ok.error();
  return claims;
}

}  // namespace

JwtResult<void> check_claims(Claims const& claims, Expectations const& x, Clock const& clock) {
  return named(check_claims_unnamed(claims, x, clock), x);
}

JwtResult<Claims> validate_with_keys(std::string_view jwt, Expectations const& x,
                                     Jwks const& keys, Clock const& clock) {
  auto jws = parse_checked(jwt, x);
  if (!jws) return named<Claims>(jws.error(), x);
  auto key = keys.select(jws->header().kid.value_or(""), jws->alg());
  if (!key) return named<Claims>(key.error(), x);
  return named(verify_and_check(*jws, **key, x, clock), x);
}

boost::asio::awaitable<JwtResult<Claims>> Validator::validate(std::string jwt, Expectations x,
                                                              std::string jwks_url) {
  auto jws = parse_checked(jwt, x);
  if (!jws) co_return named<Claims>(jws.error(), x);
  auto key = co_await keys_.key_for(std::move(jwks_url), jws->header().kid.value_or(""),
                                    std::string(to_string(jws->alg())));
  if (!key) co_return named<Claims>(key.error(), x);
  co_return named(verify_and_check(*jws, **key, x, clock_), x);
}

}  // namespace nbhub::jwt
