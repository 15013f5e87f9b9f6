#pragma once
// API tokens: issued as 32 random bytes (base64url, 43 chars), stored as prefix + SHA-256
// (store/ never sees the raw value), resolved by hash. Used for servers' JUPYTERHUB_API_TOKEN
// and the OAuth access tokens nbhub issues as provider.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "store/rows.hpp"

namespace nbhub::store { class Store; }

namespace nbhub::hub {

std::string token_hash(std::string_view raw);  // hex sha256

struct IssuedToken {
  std::string raw;  // shown once: environment of the server, or the OAuth response
  store::TokenRow row;
};

class TokenService {
 public:
  TokenService(store::Store& store, Clock const& clock, Random& random, boost::asio::thread_pool& pool);

  // Fills prefix, hash and created; blocking (call from the pool or via issue_async).
  Result<IssuedToken> issue(store::TokenRow spec);
  boost::asio::awaitable<Result<IssuedToken>> issue_async(store::TokenRow spec);
  // The token's row; not_found for unknown or expired tokens.
  boost::asio::awaitable<Result<store::TokenRow>> resolve(std::string raw);

  // Token from `Authorization: token X` / `bearer X` (case-insensitive), or empty.
  static std::string from_authorization(std::string_view header);

 private:
  store::Store& store_;
  Clock const& clock_;
  Random& random_;
  boost::asio::thread_pool& pool_;
};

}  // namespace nbhub::hub
