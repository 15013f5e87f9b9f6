#include "jwt/jwk.hpp"

#include <cjose/error.h>
#include <cjose/jwk.h>
#include <fmt/format.h>

#include <array>
#include <cctype>
#include <utility>

#include <boost/json/serialize.hpp>

namespace nbhub::jwt {
namespace {

struct AlgName {
  Alg alg;
  std::string_view name;
};
constexpr std::array<AlgName, 6> kAlgs{{{Alg::rs256, "RS256"},
                                         {Alg::rs384, "RS384"},
                                         {Alg::rs512, "RS512"},
                                         {Alg::ps256, "PS256"},
                                         {Alg::es256, "ES256"},
                                         {Alg::es384, "ES384"}}};

JwtError import_error(std::string msg) { return JwtError{JwtCode::malformed, std::move(msg)}; }

// A string member, or nullopt when absent; `ok` turns false when present but not a string.
std::optional<std::string> string_member(boost::json::object const& o, std::string_view key,
                                         bool& ok) {
  auto const* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (auto const* s = v->if_string()) return std::string(*s);
  ok = false;
  return std::nullopt;
}

// cjose asserts (aborting the whole process) on some malformed base64url, e.g. a length of
// 4k+1: found by tests/fuzz/fuzz_jwks. Key material from the network is checked here first.
// Trailing '=' padding is tolerated, as cjose does.
bool is_base64url(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
  return true;
}

// Why the key parameters (RFC 7518 §6.2, §6.3) cannot be handed to cjose, or nullopt.
std::optional<std::string> bad_key_parameter(boost::json::object const& jwk) {
  for (std::string_view name : {"n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y"}) {
    auto const* v = jwk.if_contains(name);
    if (!v) continue;
    auto const* str = v->if_string();
    if (!str) return fmt::format("member '{}' is not a string", name);
    if (!is_base64url(*str)) return fmt::format("member '{}' is not base64url", name);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Alg> alg_from_string(std::string_view name) noexcept {
  for (auto const& a : kAlgs)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

std::string_view to_string(Alg a) noexcept {
  for (auto const& x : kAlgs)
    if (x.alg == a) return x.name;
  return "?";
}

JwtResult<std::shared_ptr<Jwk const>> Jwk::import(boost::json::object const& jwk) {
  bool ok = true;
  auto kty = string_member(jwk, "kty", ok);
  auto kid = string_member(jwk, "kid", ok);
  auto alg = string_member(jwk, "alg", ok);
  auto crv = string_member(jwk, "crv", ok);
  if (!ok) return import_error("key has a kty, kid, alg or crv member that is not a string");
  auto const label = kid ? fmt::format("key '{}'", *kid) : std::string("key without kid");
  if (!kty) return import_error(label + " has no kty");

  std::shared_ptr<Jwk> key(new Jwk());
  key->kid_ = kid.value_or("");
  key->alg_ = std::move(alg);
  if (*kty == "RSA") {
    key->type_ = KeyType::rsa;
  } else if (*kty == "EC") {
    key->type_ = KeyType::ec;
    if (!crv || (*crv != "P-256" && *crv != "P-384"))
      return import_error(fmt::format("{} uses EC curve '{}'; only P-256 and P-384 are supported",
                                      label, crv.value_or("")));
    key->curve_ = *crv;
  } else {
    return import_error(fmt::format("{} has kty '{}'; only RSA and EC keys verify signatures",
                                    label, *kty));
  }

  if (auto why = bad_key_parameter(jwk)) return import_error(fmt::format("{}: {}", label, *why));
  auto const text = boost::json::serialize(jwk);
  cjose_err err{};
  key->handle_ = cjose_jwk_import(text.data(), text.size(), &err);
  if (!key->handle_)
    return import_error(fmt::format("{}: cjose could not import the {} key material ({})", label,
                                    *kty, err.message ? err.message : "unknown error"));
  key->bits_ = cjose_jwk_get_keysize(key->handle_, &err);
  if (key->type_ == KeyType::rsa && key->bits_ < kMinRsaBits)
    return import_error(fmt::format("{} is a {}-bit RSA key; at least {} bits are required",
                                    label, key->bits_, kMinRsaBits));
  return std::shared_ptr<Jwk const>(std::move(key));
}

Jwk::~Jwk() {
  if (handle_) cjose_jwk_release(handle_);
}

std::optional<std::string> Jwk::incompatibility(Alg alg) const {
  auto const name = to_string(alg);
  if (alg_ && *alg_ != name)
    return fmt::format("{} is published for alg '{}'", describe(), *alg_);
  bool fits = false;
  switch (alg) {
    case Alg::rs256:
    case Alg::rs384:
    case Alg::rs512:
    case Alg::ps256: fits = type_ == KeyType::rsa; break;
    case Alg::es256: fits = type_ == KeyType::ec && curve_ == "P-256"; break;
    case Alg::es384: fits = type_ == KeyType::ec && curve_ == "P-384"; break;
  }
  if (!fits) return fmt::format("{} cannot verify {}", describe(), name);
  return std::nullopt;
}

std::size_t Jwk::signature_bytes() const noexcept {
  if (type_ == KeyType::rsa) return bits_ / 8;  // cjose reports RSA_size() * 8
  return curve_ == "P-256" ? 64 : 96;           // RFC 7518 §3.4: R || S, fixed width
}

std::string Jwk::describe() const {
  auto const who = kid_.empty() ? std::string("without kid") : fmt::format("'{}'", kid_);
  if (type_ == KeyType::rsa) return fmt::format("RSA {}-bit key {}", bits_, who);
  return fmt::format("EC {} key {}", curve_, who);
}

}  // namespace nbhub::jwt
