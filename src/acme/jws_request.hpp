#pragma once
// The body of every ACME POST (RFC 8555 §6.2): a flattened JSON JWS signed with ES256 whose
// protected header carries "url" and "nonce", and either the account's "jwk" (newAccount, and
// requests before an account URL is known) or its "kid" (the account URL) afterwards.
#include <optional>
#include <string>
#include <string_view>

#include "acme/account_key.hpp"
#include "core/result.hpp"

namespace nbhub::acme {

struct JwsRequest {
  std::string url;
  std::string nonce;
  std::string kid;  // "" = embed the public JWK instead
  // The JSON payload; nullopt = POST-as-GET (RFC 8555 §6.3), whose payload is empty.
  std::optional<std::string> payload;
};

// {"protected": b64u(header), "payload": b64u(payload), "signature": b64u(R||S)}.
// Errors: internal when signing fails.
Result<std::string> sign_request(AccountKey const& key, JwsRequest const& req);

}  // namespace nbhub::acme
