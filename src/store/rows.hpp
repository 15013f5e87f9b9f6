#pragma once
// Plain rows as the store reads and writes them. Live objects (a user with running servers, a
// decrypted auth_state) belong to hub/, not here (STYLE.md §1, JupyterHub's orm.py vs user.py).
//
// Times are stored with microsecond precision (see sql_dialect.hpp); a value read back equals
// the value written after std::chrono::floor<microseconds>.
//
// Hashes (token, OAuth code, client secret) are hex SHA-256 of the secret: exactly 64 lowercase
// hex characters. The store refuses anything else, so a raw secret cannot be stored by mistake.
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

struct LoginUpdate {
  std::string name;
  std::optional<bool> admin;  // a new user gets false when nullopt
  // When set, membership is replaced by exactly these groups; unknown groups are created.
  std::optional<std::vector<std::string>> groups;
  std::optional<std::string> encrypted_auth_state;
  // A login session written in the same transaction (one commit per sign-in); its user_id
  // is filled in by the store.
  std::optional<SessionRow> session;
};

struct GroupRow {
  std::int64_t id = 0;
  std::string name;
  boost::json::object properties;    // JupyterHub's group properties, free-form JSON
  std::vector<std::string> members;  // user names, sorted

  bool operator==(GroupRow const&) const = default;
};

// An API token (JupyterHub's orm.APIToken). The raw token never reaches the store: hub/ hands
// over its prefix and hash, and looks it up by hash.
//
// Why one unsalted SHA-256 is enough, unlike JupyterHub's salted, iterated sha512
// (orm.Hashed, 16384 rounds for supplied tokens): nbhub's tokens are 32 bytes from Random, so
// there is no dictionary for a salt or slow rounds to defeat; recovering a token from a leaked
// database means inverting SHA-256. Being deterministic, the hash is also the lookup key: one
// indexed equality instead of a prefix scan and a hash per candidate. JupyterHub salts and
// iterates for tokens a person chose (config api_tokens), which may be guessable; such a token
// stored this way could be brute-forced from a leaked database, so one needs a slow salted
// hash (a new column) before nbhub accepts operator-chosen tokens.
struct TokenRow {
  std::int64_t id = 0;  // assigned by create_token, never reused; the REST API shows "a<id>"
  std::string prefix;   // the token's first 4 characters (at most 4), for logs and token lists
  std::string hash;     // hex SHA-256 of the whole token
  // The owner: exactly one of user_id (a user's token) and service_name (a service's token).
  std::optional<std::int64_t> user_id;
  std::optional<std::string> service_name;
  std::optional<std::string> server_name;  // set on a server's own JUPYTERHUB_API_TOKEN
  std::string kind;                        // "server", "api", "oauth" or "session"
  std::vector<std::string> scopes;         // as granted, unexpanded; order kept
  std::string note;                        // "Server at /user/alice/" (spec §1.5), free text
  Time created{};
  std::optional<Time> expires_at;  // nullopt: never expires
  std::optional<Time> last_activity;
  std::optional<std::string> oauth_client_id;  // the client an "oauth" token was issued to
  // sha256 hex of the login session an "oauth" token was issued under (SessionRow::id_hash);
  // logout deletes it with delete_tokens_for_session.
  std::optional<std::string> session_id_hash;

  bool operator==(TokenRow const&) const = default;
};

// An OAuth client of the hub's provider: one per server (spec §1.6), later one per service.
struct OAuthClientRow {
  std::string client_id;     // JUPYTERHUB_CLIENT_ID, e.g. "jupyterhub-user-alice"; not secret
  std::string description;   // "Server at /user/alice/", shown on the consent page
  std::string redirect_uri;  // compared as a plain string at authorize (RFC 6749 §3.1.2.3)
  // hex SHA-256 of the client secret (the server's API token), or "" for a client without a
  // secret, which the provider must refuse (spec §3.2).
  std::string secret_hash;
  std::optional<std::int64_t> user_id;  // the owner of the server this client belongs to
  std::optional<std::string> server_name;
  std::vector<std::string> allowed_scopes;  // order kept
  Time created{};                           // first registration; upserts keep it

  bool operator==(OAuthClientRow const&) const = default;
};

// An authorization code between authorize and token (spec §3.4): single use, short-lived.
struct OAuthCodeRow {
  std::string code_hash;  // hex SHA-256 of the code sent to the browser
  std::string client_id;
  std::int64_t user_id = 0;
  std::string redirect_uri;
  std::vector<std::string> scopes;
  std::optional<std::string> session_id_hash;  // the login session that authorized it
  Time created{};
  Time expires{};

  bool operator==(OAuthCodeRow const&) const = default;
};

// A user's server as recorded for adoption after a restart (JupyterHub's orm.Server and
// orm.Spawner rolled into one row). Live state (readiness, progress) belongs to hub/.
struct ServerRow {
  std::int64_t id = 0;  // assigned on first upsert, kept by later ones
  std::int64_t user_id = 0;
  std::string name;          // "" for the default server; unique per user
  std::string url;           // "http://127.0.0.1:53211"; "" while pending
  boost::json::object state;  // the spawner's state (pid, port, container id), opaque here
  std::optional<Time> started;
  std::optional<Time> last_activity;
  std::string pending;  // "", "spawn" or "stop"
  // The state machine shared by replicas (migration 8; docs/replicas.md). The phase is
  // phase_of(row). `driver` is the replica (host:pid:hex) that drives the current transition,
  // or drove the last one; `lease_until` bounds how long it may go silent before another
  // replica takes a pending or stopping server over. Every transition bumps `version`, and
  // transitions are compare-and-set on it.
  std::string driver;
  std::optional<Time> lease_until;
  std::int64_t version = 0;
  std::string last_error;  // why the last start failed (a stopped row keeps it)

  bool operator==(ServerRow const&) const = default;
};

// A named server defined without being started (JupyterHub 6.0's PUT
// /users/{name}/servers/{server}, edited by PATCH): its label and the options its next start
// uses when the start gives none. Migration 6. Kept apart from ServerRow, which records
// servers that run (hub/servers.hpp).
struct NamedServerRow {
  std::int64_t user_id = 0;
  std::string name;
  std::string display_name;
  boost::json::object user_options;
  Time created{};

  bool operator==(NamedServerRow const&) const = default;
};

// What a server was last started with (migration 9): its user_options and display_name, kept
// past its stop and a hub restart. The spawn form pre-selects them (KubeSpawner 7.1) and the
// server model shows them. One per (user, server name); "" is the default server.
struct ServerChoicesRow {
  std::int64_t user_id = 0;
  std::string name;
  std::string display_name;  // "" when the start gave none (the model shows the name)
  boost::json::object user_options;
  Time updated{};

  bool operator==(ServerChoicesRow const&) const = default;
};

enum class ServerPhase { stopped, pending, ready, stopping };
// pending "spawn": pending; "stop": stopping; a url and nothing pending: ready; otherwise
// stopped (the row a failed spawn leaves behind, for its error and progress events).
inline ServerPhase phase_of(ServerRow const& row) {
  if (row.pending == "spawn") return ServerPhase::pending;
  if (row.pending == "stop") return ServerPhase::stopping;
  return row.url.empty() ? ServerPhase::stopped : ServerPhase::ready;
}

// The answer to Store::claim_server_start: whether this replica now drives the start, and the
// row as it is either way.
struct ServerClaim {
  bool won = false;
  ServerRow row;
};

// One progress event of a spawn (JupyterHub's event stream item), numbered per server.
struct ServerEvent {
  std::int64_t seq = 0;
  boost::json::object event;

  bool operator==(ServerEvent const&) const = default;
};

// A server with its owner's name, for adoption at startup.
struct OwnedServer {
  std::string user_name;
  ServerRow server;

  bool operator==(OwnedServer const&) const = default;
};

// A sealed ACME value (store.hpp get_acme_record).
struct AcmeRecord {
  std::string sealed;
  Time updated{};
};

// A named lease (store.hpp take_lease).
struct LeaseRow {
  std::string holder;
  Time expires{};
};

// A share (JupyterHub 5's orm.Share): what `owner`'s server `server_name` grants one user or
// one group. Exactly one of user_id and group_id is set; the names are filled in by reads.
struct ShareRow {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string owner_name;
  std::string server_name;  // "" for the default server
  std::optional<std::int64_t> user_id;
  std::optional<std::string> user_name;
  std::optional<std::int64_t> group_id;
  std::optional<std::string> group_name;
  std::vector<std::string> scopes;  // each filtered `!server=owner/server`, sorted
  Time created{};

  bool operator==(ShareRow const&) const = default;
};

// Whom a share is for: a user or a group, by id.
struct ShareTarget {
  enum class Kind { user, group } kind = Kind::user;
  std::int64_t id = 0;
};

// A share code (JupyterHub 5's orm.ShareCode): a random code whose hash is stored; whoever
// exchanges it gets a share with these scopes. Codes always expire; max_exchanges is nbhub's
// optional cap on how often one code may be exchanged (nullopt: no cap, as JupyterHub).
struct ShareCodeRow {
  std::int64_t id = 0;  // the REST API shows "sc_<id>"
  std::int64_t owner_id = 0;
  std::string owner_name;
  std::string server_name;
  std::string code_hash;  // hex SHA-256 of the code
  std::string prefix;     // the code's first 4 characters, for logs
  std::vector<std::string> scopes;
  Time created{};
  Time expires{};
  std::int64_t exchange_count = 0;
  std::optional<Time> last_exchanged;
  std::optional<std::int64_t> max_exchanges;

  bool operator==(ShareCodeRow const&) const = default;
};

// A service created at run time through POST /hub/api/services/{name} (JupyterHub 5.2): its
// JupyterHub model as given (the API token replaced by its SHA-256, "api_token_sha256").
struct RuntimeServiceRow {
  std::string name;
  boost::json::object spec;
  Time created{};

  bool operator==(RuntimeServiceRow const&) const = default;
};

}  // namespace nbhub::store
