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

// JSON columns hold compact JSON text (sql_dialect.hpp). Hashes are hex SHA-256 (rows.hpp).
// api_tokens.session_id_hash is deliberately not a foreign key to sessions: a token's life is
// its own expires_at, and logout deletes it explicitly (delete_tokens_for_session).
// Nor are api_tokens linked to servers: the hub deletes a server's tokens when it stops the
// server (delete_tokens_for_server) and keeps them when the spawner will resume.
constexpr std::string_view kV2TokensOAuthServers = R"sql(
CREATE TABLE oauth_clients (
  client_id TEXT NOT NULL PRIMARY KEY,
  description TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
  server_name TEXT,
  allowed_scopes TEXT NOT NULL DEFAULT '[]',
  created BIGINT NOT NULL
);
CREATE INDEX ix_oauth_clients_user_id ON oauth_clients (user_id);
CREATE TABLE api_tokens (
  id {id_pk},
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
  service_name TEXT,
  server_name TEXT,
  kind TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '[]',
  note TEXT NOT NULL,
  created BIGINT NOT NULL,
  expires_at BIGINT,
  last_activity BIGINT,
  oauth_client_id TEXT REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
  session_id_hash TEXT
);
CREATE INDEX ix_api_tokens_user_id_server_name ON api_tokens (user_id, server_name);
CREATE INDEX ix_api_tokens_oauth_client_id ON api_tokens (oauth_client_id);
CREATE INDEX ix_api_tokens_session_id_hash ON api_tokens (session_id_hash);
CREATE INDEX ix_api_tokens_expires_at ON api_tokens (expires_at);
CREATE TABLE oauth_codes (
  code_hash TEXT NOT NULL PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '[]',
  session_id_hash TEXT,
  created BIGINT NOT NULL,
  expires BIGINT NOT NULL
);
CREATE INDEX ix_oauth_codes_client_id ON oauth_codes (client_id);
CREATE INDEX ix_oauth_codes_user_id ON oauth_codes (user_id);
CREATE INDEX ix_oauth_codes_session_id_hash ON oauth_codes (session_id_hash);
CREATE INDEX ix_oauth_codes_expires ON oauth_codes (expires);
CREATE TABLE servers (
  id {id_pk},
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT '{}',
  started BIGINT,
  last_activity BIGINT,
  pending TEXT NOT NULL DEFAULT '',
  UNIQUE (user_id, name)
);
)sql";

// Tokens imported from a JupyterHub database (nbhub import-jupyterhub-db) keep JupyterHub's own
// verifier, "sha512:rounds:salt:digest" (hub/jupyterhub_token_hash.hpp): their raw values are
// unknown, so no SHA-256 can be computed. Their api_tokens row carries a placeholder hash no
// token hashes to; they are found by prefix here and verified in constant time.
constexpr std::string_view kV3ImportedTokenHashes = R"sql(
CREATE TABLE imported_token_hashes (
  token_id BIGINT NOT NULL PRIMARY KEY REFERENCES api_tokens (id) ON DELETE CASCADE,
  prefix TEXT NOT NULL,
  foreign_hash TEXT NOT NULL
);
CREATE INDEX ix_imported_token_hashes_prefix ON imported_token_hashes (prefix);
)sql";

// ACME (acme/acme_manager.hpp): the account key and certificates, each sealed with the crypt
// key, by name ("account <directory>", "certificate <domains>"); and one renewal lease per
// certificate, so that of several hubs on one database only the holder talks to the CA.
constexpr std::string_view kV4Acme = R"sql(
CREATE TABLE acme_records (
  name TEXT NOT NULL PRIMARY KEY,
  sealed TEXT NOT NULL,
  updated BIGINT NOT NULL
);
CREATE TABLE acme_leases (
  name TEXT NOT NULL PRIMARY KEY,
  holder TEXT NOT NULL,
  expires BIGINT NOT NULL
);
)sql";

// Replicas (docs/replicas.md): named leases with an expiry, the coordination primitive that works
// on both back ends (one hub's periodic jobs, the per-user token refresh lock); and the column
// that lets older binaries keep running on newer schemas (rolling upgrades, migrations.hpp).
// Binaries before this one refuse any newer schema, so this migration itself needs every
// replica stopped or upgraded at once; from here on additive migrations do not.
constexpr std::string_view kV5Leases = R"sql(
ALTER TABLE schema_version ADD COLUMN oldest_reader INTEGER;
CREATE TABLE leases (
  name TEXT NOT NULL PRIMARY KEY,
  holder TEXT NOT NULL,
  expires BIGINT NOT NULL
);
)sql";

// Named servers defined through JupyterHub 6.0's PUT before they ever run (store.hpp
// create_named_server). Additive: a binary of migrations 5 to 7 keeps running on it.
constexpr std::string_view kV6NamedServers = R"sql(
CREATE TABLE named_servers (
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  display_name TEXT NOT NULL,
  user_options TEXT NOT NULL DEFAULT '{}',
  created BIGINT NOT NULL,
  PRIMARY KEY (user_id, name)
)
)sql";

// Sharing (JupyterHub 5.0, docs/sharing.md): shares of a server with a user or a group, share
// codes (hashed, always expiring), and services created through the REST API (5.2). Shares
// name their server by (owner_id, server_name) rather than a servers row: the default server
// may be shared before its first start, and a stop must not drop its shares. Unique per
// (server, user) and (server, group); NULLs are distinct in both databases, so a group share
// (user_id NULL) never collides with a user share. Only new tables: older binaries may run on it.
constexpr std::string_view kV7Sharing = R"sql(
CREATE TABLE shares (
  id {id_pk},
  owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  server_name TEXT NOT NULL,
  user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
  group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
  scopes TEXT NOT NULL DEFAULT '[]',
  created BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_shares_server_user ON shares (owner_id, server_name, user_id);
CREATE UNIQUE INDEX ux_shares_server_group ON shares (owner_id, server_name, group_id);
CREATE INDEX ix_shares_user_id ON shares (user_id);
CREATE INDEX ix_shares_group_id ON shares (group_id);
CREATE TABLE share_codes (
  id {id_pk},
  owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  server_name TEXT NOT NULL,
  code_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '[]',
  created BIGINT NOT NULL,
  expires BIGINT NOT NULL,
  exchange_count BIGINT NOT NULL DEFAULT 0,
  last_exchanged BIGINT,
  max_exchanges BIGINT
);
CREATE INDEX ix_share_codes_owner_server ON share_codes (owner_id, server_name);
CREATE INDEX ix_share_codes_expires ON share_codes (expires);
CREATE TABLE runtime_services (
  name TEXT NOT NULL PRIMARY KEY,
  spec TEXT NOT NULL,
  created BIGINT NOT NULL
);
)sql";

// Server state in the database (docs/replicas.md): each server's row is its state machine. The
// phase stays encoded as before (pending "spawn" = pending, "stop" = stopping, a url and nothing
// pending = ready, neither = stopped, the row a failed spawn leaves for its error and events);
// new are the replica driving the current transition, its lease, a version that every
// transition bumps (compare-and-set), the last error, and the spawn's progress events, bounded
// per server. Additive: a binary of migrations 5 to 7 keeps running on it.
constexpr std::string_view kV8ServerState = R"sql(
ALTER TABLE servers ADD COLUMN driver TEXT NOT NULL DEFAULT '';
ALTER TABLE servers ADD COLUMN lease_until BIGINT;
ALTER TABLE servers ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE TABLE server_events (
  server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  event TEXT NOT NULL,
  PRIMARY KEY (server_id, seq)
);
)sql";

// What each server was last started with (docs/profiles.md "Saved choices"): the spawn form
// pre-selects it (KubeSpawner 7.1) and the server model shows its display_name after a restart.
// The servers row goes at every stop, so the choices have their own row per (user, server
// name), the default server included; a named server's definition (named_servers) is kept in
// step by the same write (store.hpp save_server_choices). Additive: binaries of migrations 5
// to 8 keep running on it.
constexpr std::string_view kV9ServerChoices = R"sql(
CREATE TABLE server_choices (
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  display_name TEXT NOT NULL,
  user_options TEXT NOT NULL DEFAULT '{}',
  updated BIGINT NOT NULL,
  PRIMARY KEY (user_id, name)
)
)sql";

constexpr std::array kMigrations{
    Migration{1, "users, groups, memberships, login sessions", kV1Users},
    Migration{2, "API tokens, OAuth clients and codes, servers", kV2TokensOAuthServers},
    Migration{3, "JupyterHub token hashes of imported API tokens", kV3ImportedTokenHashes},
    Migration{4, "ACME account key, certificates and renewal leases", kV4Acme},
    Migration{5, "leases for replicas; schema compatibility for rolling upgrades", kV5Leases, 5},
    Migration{6, "named servers defined before they run (JupyterHub 6.0)", kV6NamedServers, 5},
    Migration{7, "shares, share codes and runtime services", kV7Sharing, 5},
    Migration{8, "server state machine rows and progress events", kV8ServerState, 5},
    Migration{9, "each server's last user_options and display_name", kV9ServerChoices, 5},
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
