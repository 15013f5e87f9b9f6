#include "store/migrations.hpp"

#include <array>

namespace nbhub::store {

namespace {

// Foreign keys cascade so that deleting a user removes everything that only made sense with
// them; the store relies on this instead of deleting child rows by hand.
constexpr std::string_view kV1Users = R"sql(
CREATE TABLE users (
  id {id_pk},
  name TEXT NOT NULL UNIQUE,
  admin BOOLEAN NOT NULL DEFAULT FALSE,
  created BIGINT NOT NULL,
  last_activity BIGINT,
  encrypted_auth_state {blob},
  auth_refreshed BIGINT
);
CREATE TABLE groups (
  id {id_pk},
  name TEXT NOT NULL UNIQUE,
  properties TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE user_group_map (
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, group_id)
);
CREATE INDEX ix_user_group_map_group_id ON user_group_map (group_id);
CREATE TABLE sessions (
  id_hash TEXT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  created BIGINT NOT NULL,
  expires BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  id_token_hint_encrypted {blob}
);
CREATE INDEX ix_sessions_user_id ON sessions (user_id);
CREATE INDEX ix_sessions_expires ON sessions (expires);
)sql";

constexpr std::array kMigrations{
    Migration{1, "users, groups, memberships, login sessions", kV1Users},
};

}  // namespace

std::span<const Migration> builtin_migrations() { return kMigrations; }

std::string_view schema_version_ddl() {
  return "CREATE TABLE IF NOT EXISTS schema_version ("
         " version INTEGER NOT NULL PRIMARY KEY,"
         " description TEXT NOT NULL,"
         " applied_at BIGINT NOT NULL)";
}

}  // namespace nbhub::store
