#pragma once
// Plain rows as the store reads and writes them. Live objects (a user with running servers, a
// decrypted auth_state) belong to hub/, not here (STYLE.md §1, JupyterHub's orm.py vs user.py).
//
// Times are stored with microsecond precision (see sql_dialect.hpp); a value read back equals
// the value written after std::chrono::floor<microseconds>.
#include "core/clock.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nbhub::store {

using Time = Clock::SysTime;

struct UserRow {
  std::int64_t id = 0;  // never reused, even after the user is deleted
  std::string name;
  bool admin = false;
  std::vector<std::string> groups;  // group names, sorted
  Time created{};
  std::optional<Time> last_activity;
  // Opaque bytes from CryptKeeper::encrypt; the store never sees the plaintext.
  std::optional<std::string> encrypted_auth_state;
  std::optional<Time> auth_refreshed;  // last login or successful refresh_user

  bool operator==(UserRow const&) const = default;
};

// What a login learned about a user. nullopt means "the authenticator said nothing: leave the
// stored value as it is", as JupyterHub does for `admin: None` and a model without `groups`.
struct LoginUpdate {
  std::string name;
  std::optional<bool> admin;  // a new user gets false when nullopt
  // When set, membership is replaced by exactly these groups; unknown groups are created.
  std::optional<std::vector<std::string>> groups;
  std::optional<std::string> encrypted_auth_state;
};

struct UpsertedUser {
  UserRow user;
  bool created = false;  // true when this login created the user
};

struct SessionRow {
  std::string id_hash;  // sha256 hex of the session id; the raw id lives only in the cookie
  std::int64_t user_id = 0;
  std::string provider;  // the login provider's name, for RP-initiated logout
  Time created{};
  Time expires{};
  Time last_seen{};
  // CryptKeeper output (CryptPurpose::id_token_hint); nullopt when the IdP gave no ID token.
  std::optional<std::string> id_token_hint_encrypted;

  bool operator==(SessionRow const&) const = default;
};

struct GroupRow {
  std::int64_t id = 0;
  std::string name;
  boost::json::object properties;    // JupyterHub's group properties, free-form JSON
  std::vector<std::string> members;  // user names, sorted

  bool operator==(GroupRow const&) const = default;
};

}  // namespace nbhub::store
