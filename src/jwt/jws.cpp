#include "jwt/jws.hpp"

#include <cjose/error.h>
#include <cjose/jws.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/crypto.hpp"

namespace nbhub::jwt {
namespace {

JwtError malformed(std::string msg) { return JwtError{JwtCode::malformed, std::move(msg)}; }

bool is_b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Decodes one segment, insisting on the canonical unpadded spelling.
std::optional<std::string> decode_segment(std::string_view seg) {
  if (!std::all_of(seg.begin(), seg.end(), is_b64url_char)) return std::nullopt;
  auto raw = crypto::base64url_decode(seg);
  if (!raw || crypto::base64url_encode(*raw) != seg) return std::nullopt;
  return raw;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

JwtResult<Jws> Jws::parse(std::string_view compact) {
  if (compact.empty()) return malformed("token is empty");
  if (compact.size() > kMaxJwsBytes)
    return malformed(
        fmt::format("token is {} bytes; the limit is {}", compact.size(), kMaxJwsBytes));
  auto const dots = std::count(compact.begin(), compact.end(), '.');
  if (dots != 2)
    return malformed(fmt::format(
        "token is not a compact JWS: expected 3 dot-separated segments, found {}{}", dots + 1,
        dots == 4 ? " (an encrypted JWE? nbhub accepts only signed tokens)" : ""));
  auto const d1 = compact.find('.');
  auto const d2 = compact.find('.', d1 + 1);
  auto const hdr_seg = compact.substr(0, d1);
  auto const pay_seg = compact.substr(d1 + 1, d2 - d1 - 1);
  auto const sig_seg = compact.substr(d2 + 1);

  auto hdr_raw = decode_segment(hdr_seg);
  if (!hdr_raw || hdr_raw->empty())
    return malformed("token header is not canonical unpadded base64url");
  boost::system::error_code ec;
  auto hdr_val = boost::json::parse(*hdr_raw, ec);
  auto const* hdr = ec ? nullptr : hdr_val.if_object();
  if (!hdr) return malformed("token header is not a JSON object");

  auto const* alg_v = hdr->if_contains("alg");
  if (!alg_v) return malformed("token header has no 'alg'");
  auto const* alg_s = alg_v->if_string();
  if (!alg_s) return malformed("token header 'alg' is not a string");
  std::string_view const alg_name = *alg_s;
  if (iequals(alg_name, "none"))
    return JwtError{JwtCode::unsupported_alg,
                    "token uses alg 'none' (unsigned); unsigned tokens are never accepted"};
  auto alg = alg_from_string(alg_name);
  if (!alg)
    return JwtError{JwtCode::unsupported_alg,
                    fmt::format("token uses alg '{}', which nbhub does not verify (supported: "
                                "RS256, RS384, RS512, PS256, ES256, ES384)",
                                alg_name)};

  Jws jws;
  jws.header_.alg = *alg;
  for (auto [name, field] : {std::pair{"kid", &jws.header_.kid}, {"typ", &jws.header_.typ}}) {
    if (auto const* v = hdr->if_contains(name)) {
      auto const* s = v->if_string();
      if (!s) return malformed(fmt::format("token header '{}' is not a string", name));
      *field = std::string(*s);
    }
  }
  if (hdr->contains("crit"))
    return malformed("token header has 'crit' extensions, which nbhub does not implement");

  auto payload = decode_segment(pay_seg);
  if (!payload) return malformed("token payload is not canonical unpadded base64url");
  auto sig = decode_segment(sig_seg);
  if (!sig || sig->empty()) return malformed("token signature is empty or not canonical base64url");

  jws.compact_ = std::string(compact);
  jws.payload_ = std::move(*payload);
  jws.signature_ = std::move(*sig);
  return jws;
}

JwtResult<void> check_alg_allowed(Jws const& jws, std::span<std::string const> allowed) {
  auto const name = to_string(jws.alg());
  if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) return {};
  std::string list;
  for (auto const& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return JwtError{JwtCode::unsupported_alg,
                  allowed.empty()
                      ? fmt::format("token uses alg '{}', but no algorithms are allowed for this "
                                    "provider (empty allow-list)",
                                    name)
                      : fmt::format("token uses alg '{}', which is not in this provider's allowed "
                                    "algorithms [{}]",
                                    name, list)};
}

JwtResult<void> verify_signature(Jws const& jws, Jwk const& key) {
  if (auto why = key.incompatibility(jws.alg()))
    return JwtError{JwtCode::unsupported_alg,
                    fmt::format("token uses alg '{}', but {}", to_string(jws.alg()), *why)};
  if (jws.signature().size() != key.signature_bytes())
    return JwtError{JwtCode::bad_signature,
                    fmt::format("token signature is {} bytes; {} with {} gives {}",
                                jws.signature().size(), to_string(jws.alg()), key.describe(),
                                key.signature_bytes())};

  cjose_err err{};
  std::unique_ptr<cjose_jws_t, decltype(&cjose_jws_release)> cj(
      cjose_jws_import(jws.compact().data(), jws.compact().size(), &err), &cjose_jws_release);
  if (!cj)
    return malformed(fmt::format("token could not be imported by cjose ({})",
                                 err.message ? err.message : "unknown error"));
  if (!cjose_jws_verify(cj.get(), key.handle(), &err))
    return JwtError{JwtCode::bad_signature,
                    fmt::format("token signature does not verify with {} ({}); the token was "
                                "altered or signed by someone else",
                                key.describe(), to_string(jws.alg()))};
  return {};
}

}  // namespace nbhub::jwt
