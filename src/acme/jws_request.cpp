#include "acme/jws_request.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/crypto.hpp"

namespace nbhub::acme {

Result<std::string> sign_request(AccountKey const& key, JwsRequest const& req) {
  boost::json::object header{{"alg", "ES256"}, {"nonce", req.nonce}, {"url", req.url}};
  // RFC 8555 §6.2: "jwk" and "kid" are mutually exclusive.
  if (req.kid.empty())
    header["jwk"] = key.public_jwk();
  else
    header["kid"] = req.kid;
  auto const protected_b64 = crypto::base64url_encode(boost::json::serialize(header));
  auto const payload_b64 = req.payload ? crypto::base64url_encode(*req.payload) : std::string{};
  auto sig = key.sign_es256(protected_b64 + "." + payload_b64);
  if (!sig) return sig.error();
  return boost::json::serialize(boost::json::object{{"protected", protected_b64},
                                                    {"payload", payload_b64},
                                                    {"signature", crypto::base64url_encode(*sig)}});
}

}  // namespace nbhub::acme
