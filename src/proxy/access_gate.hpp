#pragma once
// Requests the proxy refuses before they reach a user's server: those carrying a token whose
// access to that server was just taken away (a share revoked, hub/share_access.hpp).
//
// Why the proxy: jupyterhub-singleuser's HubAuth caches the hub's answer about a token for
// cache_max_age (300 s by default), so a server would keep admitting a revoked user's browser
// session and tokens for minutes. The hub lists that user's tokens here for as long as a server
// may still trust them; the proxy then answers 403 itself, on the next request.
//
// A token is looked for where a server reads it: `Authorization: token|bearer <t>`, the
// `token` query parameter, and the server's HubOAuth cookie (named after its OAuth client id,
// a Tornado signed value whose payload is the token). The signature is not checked: a forged
// cookie only makes the proxy refuse, never admit.
//
// Thread-safe. `denies` runs for every proxied request: when nothing is denied it is one atomic
// load; otherwise a mutex and a map lookup.
#include <boost/beast/http/message.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace nbhub::proxy {

class AccessGate {
 public:
  // `clock` must outlive the gate.
  explicit AccessGate(Clock const& clock) : clock_(clock) {}

  // Refuse requests on the route `route_key` (route_table.hpp's key, "/user/alice") that carry
  // a token whose hex SHA-256 is in `token_hashes`, until `until`. `cookie_name` is the
  // server's HubOAuth cookie. Expired entries are dropped here, so the table stays bounded by
  // what was revoked in the last deny period.
  // `user_id` is whose tokens they are, so that a new grant lifts them all at once.
  void deny(std::string const& route_key, std::string cookie_name, std::int64_t user_id,
            std::vector<std::string> const& token_hashes, Clock::SysTime until);
  // Lifts the denials of the user's tokens on the route (the access was granted again).
  void allow(std::string const& route_key, std::int64_t user_id);
  bool denies(std::string_view route_key, boost::beast::http::request_header<> const& head) const;
  std::size_t size_for_test() const;

  // The token inside a Tornado v2 signed cookie value ("2|1:0|10:...|<n>:<name>|<n>:<base64>|sig"),
  // quoted or not; nullopt for anything else.
  static std::optional<std::string> token_from_signed_cookie(std::string_view value);

 private:
  struct Entry {
    std::string cookie_name;
    struct Denied {
      Clock::SysTime until;
      std::int64_t user_id = 0;
    };
    std::map<std::string, Denied, std::less<>> tokens;  // by hex sha256
  };
  void prune(Clock::SysTime now);  // with mu_ held

  Clock const& clock_;
  std::atomic<bool> any_{false};
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> routes_;  // GUARDED_BY(mu_)
};

}  // namespace nbhub::proxy
