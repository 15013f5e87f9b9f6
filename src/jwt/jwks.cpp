#include "jwt/jwks.hpp"

#include <fmt/format.h>

#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace nbhub::jwt {
namespace {

JwtError unavailable(std::string msg) {
  return JwtError{JwtCode::jwks_unavailable, std::move(msg)};
}

std::string key_label(boost::json::object const& k) {
  auto const* kid = k.if_contains("kid");
  if (kid && kid->is_string()) return fmt::format("key '{}'", std::string_view(kid->get_string()));
  return "key without kid";
}

// Why a key is not for signature verification, or "" when it is.
std::string unusable_for_signing(boost::json::object const& k) {
  if (auto const* use = k.if_contains("use")) {
    auto const* s = use->if_string();
    if (!s) return "its 'use' is not a string";
    if (*s != "sig") return fmt::format("its use is '{}'", std::string_view(*s));
  }
  if (auto const* ops = k.if_contains("key_ops")) {
    auto const* arr = ops->if_array();
    if (!arr) return "its 'key_ops' is not an array";
    bool verify = false;
    for (auto const& op : *arr) verify = verify || (op.is_string() && op.get_string() == "verify");
    if (!verify) return "its key_ops lack 'verify'";
  }
  return {};
}

std::string kid_list(std::vector<std::shared_ptr<Jwk const>> const& keys) {
  std::string out;
  for (auto const& k : keys) {
    if (k->kid().empty()) continue;
    out += fmt::format("{}'{}'", out.empty() ? "" : ", ", k->kid());
  }
  return "[" + out + "]";
}

}  // namespace

Jwks::Jwks(std::vector<std::shared_ptr<Jwk const>> keys, std::string source)
    : keys_(std::move(keys)), source_(std::move(source)) {}

JwtResult<Jwks> Jwks::parse(std::string_view json, std::string source) {
  if (json.size() > kMaxJwksBytes)
    return unavailable(fmt::format("JWKS at {} is {} bytes; the limit is {}", source, json.size(),
                                   kMaxJwksBytes));
  boost::system::error_code ec;
  auto doc = boost::json::parse(json, ec);
  if (ec) return unavailable(fmt::format("JWKS at {} is not valid JSON ({})", source, ec.message()));
  auto const* obj = doc.if_object();
  auto const* keys = obj ? obj->if_contains("keys") : nullptr;
  if (!keys || !keys->is_array())
    return unavailable(fmt::format("JWKS at {} is not a JSON object with a \"keys\" array", source));

  Jwks set;
  set.source_ = std::move(source);
  for (auto const& entry : keys->get_array()) {
    auto const* k = entry.if_object();
    if (!k) {
      set.notes_.push_back("skipped a \"keys\" entry that is not an object");
      continue;
    }
    if (auto why = unusable_for_signing(*k); !why.empty()) {
      set.notes_.push_back(fmt::format("skipped {}: {}", key_label(*k), why));
      continue;
    }
    auto key = Jwk::import(*k);
    if (!key) {
      set.notes_.push_back("skipped " + key.error().message);
      continue;
    }
    set.keys_.push_back(std::move(*key));
  }
  return set;
}

JwtResult<std::shared_ptr<Jwk const>> Jwks::select(std::string_view kid, Alg alg) const {
  auto const alg_name = to_string(alg);
  if (!kid.empty()) {
    std::optional<std::string> first_misfit;
    for (auto const& k : keys_) {
      if (k->kid() != kid) continue;
      auto why = k->incompatibility(alg);
      if (!why) return k;
      if (!first_misfit) first_misfit = std::move(why);
    }
    if (first_misfit)
      return JwtError{JwtCode::unsupported_alg,
                      fmt::format("token uses alg '{}', but in the provider's JWKS ({}) {}",
                                  alg_name, source_, *first_misfit)};
    return JwtError{JwtCode::unknown_kid,
                    fmt::format("token signed with kid '{}', which is not in the provider's JWKS "
                                "({}; it has kids {})",
                                kid, source_, kid_list(keys_))};
  }
  std::shared_ptr<Jwk const> found;
  std::size_t usable = 0;
  for (auto const& k : keys_) {
    if (k->incompatibility(alg)) continue;
    if (++usable == 1) found = k;
  }
  if (usable == 1) return found;
  return JwtError{JwtCode::unknown_kid,
                  usable == 0
                      ? fmt::format("token has no kid and the provider's JWKS ({}) has no key "
                                    "usable for {}",
                                    source_, alg_name)
                      : fmt::format("token has no kid and the provider's JWKS ({}) has {} keys "
                                    "usable for {}; refusing to guess",
                                    source_, usable, alg_name)};
}

}  // namespace nbhub::jwt
