#pragma once
// The hub's persistent state: users, groups, login sessions (migration 1); API tokens, the
// OAuth provider's clients and codes, and servers (migration 2). One interface, two back ends:
// SQLite (sqlite_store.hpp, the default) and PostgreSQL (postgres_store.hpp). SQL that differs
// between them lives in sql_dialect.hpp.
//
// Contract for every method:
//  * Synchronous and blocking (fsync on every commit). Call it from the blocking pool, never
//    from an I/O thread (STYLE.md §6.7). Every method is thread-safe; how an implementation
//    achieves that is documented on the implementation.
//  * Each method is one transaction: it commits entirely or leaves nothing behind. A method
//    that returned success has made its change durable.
//  * Errors (Result):
//      not_found    the named user, group, session, token, OAuth client or code, or server
//                   does not exist (or has expired, where the method says so); also a row
//                   referring to a user or OAuth client that does not exist
//      conflict     a unique key is taken (user name, group name, session id hash, token
//                   hash, OAuth code hash)
//      bad_request  an argument the store refuses outright (an empty name, a hash that is not
//                   64 lowercase hex characters, an unknown token kind; see row_checks.hpp)
//      unavailable  the database is locked by another process past the busy timeout, the disk
//                   is full, an I/O error, an unreadable or corrupt file
//      config       the URL is malformed, or the schema is newer than this binary
//      internal     anything else (a bug; the message carries SQLite's diagnosis)
//    Messages are for the operator, name the file and what to do, and never contain row
//    contents that could be secret (auth_state, session, token and code hashes, token
//    prefixes, spawner state). User, group and server names, token ids and OAuth client ids
//    are not secret and may appear.
//  * migrate() must have run (once, by the process owning the database) before any other
//    method; otherwise they fail with internal ("no such table").
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/rows.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nbhub::store {

struct Migration;  // migrations.hpp

// The NOTIFY channel of server changes (the servers' state machine, routes); the payload is the
// id of the replica that made them (hub/route_sync.hpp listens).
inline constexpr std::string_view kServerChangesChannel = "nbhub_servers";

struct StoreOptions {
  // How long a write waits for another process holding the database lock before failing with
  // unavailable. Within one process writes queue on a mutex instead and never hit this.
  std::chrono::milliseconds busy_timeout{5000};
  // Read-only connections beside the writer (file databases only; WAL lets them read while
  // the writer commits). 0 sends reads through the writer connection.
  int read_connections = 2;
  // PostgreSQL: at most this many connections, opened on demand (db_pool_size). A request
  // finding all busy waits up to busy_timeout, then fails with unavailable.
  int pool_size = 4;
  // Replaces the built-in migration list, to test upgrades and failing migrations.
  std::span<const Migration> migrations_for_test;
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if missing) the database named by `url`:
  //   sqlite:///relative/path.sqlite     relative to the working directory (SQLAlchemy's form,
  //   sqlite:////absolute/path.sqlite    so a jupyterhub_config.py db_url means the same)
  //   sqlite://, sqlite:///:memory:, :memory:   a private in-memory database, for tests
  //   postgresql://user:password@host:port/db    PostgreSQL through libpq (any libpq URL,
  //   postgresql:///db?host=/run/postgresql      e.g. a unix socket directory); the schema
  //                                              must exist, tables are made by migrate()
  // A missing directory is created (mode 0700) and a new file gets mode 0600. Refuses with
  // config a database whose schema is newer than this binary. Does not migrate.
  // `clock` must outlive the store; it stamps created/auth_refreshed and expires sessions.
  static Result<std::unique_ptr<Store>> open(std::string_view url, Clock const& clock,
                                             StoreOptions options = {});

  // Told after every query with its operation name ("count_users", a string literal that
  // lives as long as the program), how long it took, and whether it succeeded: the store
  // latency metric. Set once, before the store is shared between threads; it runs on the
  // querying thread and must be cheap.
  using QueryObserver = std::function<void(std::string_view operation, std::chrono::nanoseconds took, bool ok)>;
  virtual void set_query_observer(QueryObserver observer) { (void)observer; }

  // --- schema ---------------------------------------------------------------------------
  // The version the database is at: 0 for a new database.
  virtual Result<int> schema_version() = 0;
  // The newest version this binary knows.
  virtual int latest_schema_version() const = 0;
  // Applies every migration above the current version, each in its own transaction, and
  // returns the version reached. Re-running is a no-op. Safe against a second process
  // migrating at the same time. Fails with config on a schema newer than this binary.
  virtual Result<int> migrate() = 0;

  // --- users ----------------------------------------------------------------------------
  virtual Result<UserRow> get_user(std::string_view name) = 0;
  virtual Result<UserRow> get_user_by_id(std::int64_t id) = 0;
  virtual Result<bool> user_exists(std::string_view name) = 0;
  // Ordered by id (creation order). offset and limit must be >= 0.
  virtual Result<std::vector<UserRow>> list_users(std::int64_t offset, std::int64_t limit) = 0;
  virtual Result<std::int64_t> count_users() = 0;
  // All users, and for each cutoff those whose last_activity is at or after it, in one query
  // (the metrics' total_users and active_users{period}: one pass, no rows copied out).
  struct UserActivityCounts {
    std::int64_t total = 0;
    std::vector<std::int64_t> active_since;  // one per cutoff, in order
  };
  virtual Result<UserActivityCounts> count_user_activity(std::span<const Time> cutoffs) = 0;
  // Creates a user (the admin API, `allowed_users` at startup); conflict if the name is taken.
  virtual Result<UserRow> create_user(std::string_view name, bool admin) = 0;
  // Creates, in one transaction, those of `names` that do not exist yet; returns the rows
  // created, in the order given. One commit for the whole batch (POST /hub/api/users).
  virtual Result<std::vector<UserRow>> create_users(std::span<std::string const> names, bool admin) = 0;
  // Creates or updates the user after a successful login, in one transaction; see
  // LoginUpdate for what nullopt means. Sets auth_refreshed to now.
  virtual Result<UpsertedUser> upsert_user_on_login(LoginUpdate const& login) = 0;
  virtual Result<void> set_admin(std::string_view name, bool admin) = 0;
  // Replaces the stored auth_state; nullopt removes it. Leaves auth_refreshed alone so that
  // re-encrypting under a rotated key does not count as a refresh.
  virtual Result<void> set_auth_state(std::string_view name,
                                      std::optional<std::string> encrypted) = 0;
  virtual Result<void> set_auth_refreshed(std::string_view name, Time when) = 0;
  // Deletes the user with their sessions, group memberships, tokens, OAuth clients and codes,
  // and servers (ON DELETE CASCADE).
  virtual Result<void> delete_user(std::string_view name) = 0;
  // Records activity at `when`; never moves last_activity backwards, because activity reports
  // from proxies and servers arrive out of order.
  virtual Result<void> touch_activity(std::string_view name, Time when) = 0;
  // Renames a user (the REST API's PATCH). conflict if `new_name` is taken, not_found if
  // `name` does not exist, bad_request for an empty new name. The default refuses, for a
  // back end that has not implemented it yet.
  virtual Result<void> rename_user(std::string_view name, std::string_view new_name) {
    (void)name, (void)new_name;
    return Error{Errc::internal, "renaming users is not supported by this database back end"};
  }

  // --- login sessions -------------------------------------------------------------------
  // not_found if the user id does not exist; conflict if the id hash does.
  virtual Result<void> create_session(SessionRow const& session) = 0;
  // not_found for an unknown session and for an expired one (expires <= clock.now()), even
  // before purge_expired_sessions removed it: an expired session never authenticates.
  virtual Result<SessionRow> get_session(std::string_view id_hash) = 0;
  virtual Result<void> touch_session(std::string_view id_hash, Time last_seen) = 0;
  // Returns whether a session was deleted: logging out twice is not an error.
  virtual Result<bool> delete_session(std::string_view id_hash) = 0;
  virtual Result<std::int64_t> delete_sessions_for_user(std::int64_t user_id) = 0;
  // Deletes sessions with expires <= now; returns how many.
  virtual Result<std::int64_t> purge_expired_sessions(Time now) = 0;

  // --- groups ---------------------------------------------------------------------------
  // Ordered by name, with members.
  virtual Result<std::vector<GroupRow>> list_groups(std::int64_t offset, std::int64_t limit) = 0;
  virtual Result<GroupRow> get_group(std::string_view name) = 0;
  // conflict if the name is taken.
  virtual Result<GroupRow> add_group(std::string_view name,
                                     boost::json::object const& properties) = 0;
  // Replaces the membership; not_found for an unknown group or user (nothing changes).
  virtual Result<void> set_group_members(std::string_view group,
                                         std::vector<std::string> const& user_names) = 0;
  virtual Result<void> delete_group(std::string_view name) = 0;
  // Replaces a group's properties (PUT /groups/{name}/properties); not_found for an unknown
  // group. The default refuses, for a back end that has not implemented it yet.
  virtual Result<void> set_group_properties(std::string_view group, boost::json::object const& properties) {
    (void)group, (void)properties;
    return Error{Errc::internal, "group properties cannot be changed with this database back end"};
  }

  // --- API tokens -----------------------------------------------------------------------
  // Looked up by hash only (see TokenRow for why one SHA-256 suffices). The database compares
  // hashes through its index, not with equal_ct (STYLE.md §7): timing can reveal at most how
  // much of a stored hash matches the hash of a value the attacker chose, and turning that
  // into a token needs a SHA-256 preimage.
  //
  // Stores the token as given (prefix, hash, created and the rest; id is ignored) and returns
  // it with its id. bad_request: a hash that is not hex SHA-256, a prefix longer than 4, an
  // unknown kind, not exactly one owner, an empty session_id_hash; conflict: the hash exists;
  // not_found: user_id or oauth_client_id names no row.
  virtual Result<TokenRow> create_token(TokenRow const& token) = 0;
  // not_found for an unknown token and for an expired one (expires_at <= clock.now()), even
  // before purge_expired_tokens removed it: an expired token never authenticates.
  virtual Result<TokenRow> find_token(std::string_view hash) = 0;
  // The user's unexpired tokens of every kind, by id; empty for an unknown user.
  virtual Result<std::vector<TokenRow>> list_tokens(std::int64_t user_id) = 0;
  // Returns whether a token was deleted.
  virtual Result<bool> delete_token(std::int64_t id) = 0;
  // Deletes the tokens of one server (server_name = `server_name`, "" for the default one), as
  // a stop does (spec §1.5); returns how many.
  virtual Result<std::int64_t> delete_tokens_for_server(std::int64_t user_id,
                                                        std::string_view server_name) = 0;
  // Logout: deletes the tokens issued under the login session, and with them the session's
  // unredeemed OAuth codes, so that a code issued just before logout cannot mint a token
  // after it. Returns how many tokens were deleted.
  virtual Result<std::int64_t> delete_tokens_for_session(std::string_view session_id_hash) = 0;
  // Records use at `when`; never moves last_activity backwards. not_found for an unknown id.
  virtual Result<void> touch_token(std::int64_t id, Time when) = 0;
  // Deletes tokens with expires_at <= now; returns how many.
  virtual Result<std::int64_t> purge_expired_tokens(Time now) = 0;
  // Tokens imported from JupyterHub (migration 3): `token` is stored as create_token does (its
  // hash a placeholder no raw token hashes to) together with JupyterHub's verifier
  // `foreign_hash`, in one transaction. Errors as create_token.
  virtual Result<TokenRow> create_imported_token(TokenRow const& token,
                                                 std::string_view foreign_hash) {
    (void)token, (void)foreign_hash;
    return Error{Errc::internal, "imported tokens are not supported by this database back end"};
  }
  // The unexpired imported tokens whose prefix is `prefix`, each with its JupyterHub verifier;
  // the caller verifies (hub/jupyterhub_token_hash.hpp). Empty when none.
  virtual Result<std::vector<std::pair<TokenRow, std::string>>> find_imported_tokens(
      std::string_view prefix) {
    (void)prefix;
    return std::vector<std::pair<TokenRow, std::string>>{};
  }

  // --- OAuth clients and codes (the hub as OAuth2 provider, spec §3) ----------------------
  // Deleting a client deletes its codes and the tokens issued to it (ON DELETE CASCADE), as
  // JupyterHub does when a server stops; deleting its user deletes the client.
  //
  // Inserts or updates the client by client_id and returns it as stored. An update replaces
  // every field but `created`, and keeps tokens already issued to the client (an update, never
  // a delete and insert). bad_request: an empty client_id, a secret_hash neither "" nor hex
  // SHA-256; not_found: user_id names no user.
  virtual Result<OAuthClientRow> upsert_oauth_client(OAuthClientRow const& client) = 0;
  virtual Result<OAuthClientRow> get_oauth_client(std::string_view client_id) = 0;
  // Returns whether a client was deleted: a stop after a crash may find none.
  virtual Result<bool> delete_oauth_client(std::string_view client_id) = 0;
  // bad_request: a code_hash that is not hex SHA-256, an empty session_id_hash; conflict: the
  // hash exists; not_found: the client or user does not exist.
  virtual Result<void> create_oauth_code(OAuthCodeRow const& code) = 0;
  // Returns the code and deletes it in one transaction, so a code is redeemed at most once
  // even by concurrent calls (from this process or another one on the same database).
  // not_found for an unknown, already used or expired (expires <= clock.now()) code. The
  // caller checks client_id and redirect_uri afterwards; a code presented by the wrong client
  // is gone all the same, which is what a stolen code deserves.
  virtual Result<OAuthCodeRow> consume_oauth_code(std::string_view code_hash) = 0;
  // Deletes codes with expires <= now; returns how many.
  virtual Result<std::int64_t> purge_expired_oauth_codes(Time now) = 0;

  // --- servers --------------------------------------------------------------------------
  // Inserts the server, or updates the one with the same (user_id, name), and returns it as
  // stored. An update replaces url, state, started and pending, keeps the id, and never moves
  // last_activity backwards (nullopt keeps the stored value): the row the hub holds may be
  // older than an activity report. bad_request: pending not "", "spawn" or "stop";
  // not_found: no user with user_id.
  virtual Result<ServerRow> upsert_server(ServerRow const& server) = 0;
  virtual Result<ServerRow> get_server(std::int64_t user_id, std::string_view name) = 0;
  // Every recorded server with its owner's name, by user name then server name: what a
  // restarted hub adopts.
  virtual Result<std::vector<OwnedServer>> list_servers() = 0;
  // By name, the default server ("") first; empty for an unknown user.
  virtual Result<std::vector<ServerRow>> list_servers_for_user(std::int64_t user_id) = 0;
  // Returns whether a server was deleted. Leaves its tokens alone: see
  // delete_tokens_for_server.
  virtual Result<bool> delete_server(std::int64_t user_id, std::string_view name) = 0;
  // Records activity at `when` on the server and on its user, in one transaction; neither
  // last_activity moves backwards. not_found for an unknown server (nothing changes).
  virtual Result<void> touch_server_activity(std::int64_t user_id, std::string_view name,
                                             Time when) = 0;

  // --- named server definitions (migration 6; JupyterHub 6.0's PUT/PATCH) ---------------
  // Errors: conflict when the user already defines `s.name`; not_found for an unknown user.
  virtual Result<NamedServerRow> create_named_server(NamedServerRow const& s) = 0;
  // nullopt when the user defines no such server.
  virtual Result<std::optional<NamedServerRow>> get_named_server(std::int64_t user_id, std::string_view name) = 0;
  // By name.
  virtual Result<std::vector<NamedServerRow>> list_named_servers(std::int64_t user_id) = 0;
  // Replaces `name`'s display_name and user_options with `s`'s and renames it to s.name.
  // Errors: not_found when `name` is not defined; conflict when s.name already is.
  virtual Result<NamedServerRow> update_named_server(std::int64_t user_id, std::string_view name,
                                                     NamedServerRow const& s) = 0;
  // Whether one was deleted. The server's saved choices (below) go with it.
  virtual Result<bool> delete_named_server(std::int64_t user_id, std::string_view name) = 0;
  // --- each server's last choices (migration 9) -------------------------------------------
  // Records what a start asked for (c.updated is set here). A named server's definition, when
  // there is one, takes the same user_options, and the display_name unless c's is "" (as
  // JupyterHub's orm.Spawner keeps the last start's). not_found for an unknown user.
  virtual Result<void> save_server_choices(ServerChoicesRow const& c) = 0;
  // nullopt when the server was never started (or its definition was deleted since).
  virtual Result<std::optional<ServerChoicesRow>> get_server_choices(std::int64_t user_id,
                                                                     std::string_view name) = 0;
  // --- the servers' state machine (migration 8; docs/replicas.md) --------------------------
  // Transitions are compare-and-set, so that of several replicas on one database only one
  // drives a server's start or stop. `driver` is the acting replica's id; each successful
  // transition also tells the other replicas (PostgreSQL: NOTIFY kServerChangesChannel with the
  // driver as payload, inside the transition's transaction; SQLite: nothing to tell).
  //
  // stopped (no row, or a stopped row) -> pending, driven by `driver` until `lease_until`: the
  // row's url, state and last_error are cleared, its events deleted, its version bumped. In any
  // other phase nothing changes and `won` is false, with the row as it is. not_found: no user.
  virtual Result<ServerClaim> claim_server_start(std::int64_t user_id, std::string_view name,
                                                 std::string_view driver, Time lease_until) = 0;
  // Writes url, state, started, pending, driver, lease_until and last_error of `next` (found by
  // next.id) when the stored version is still `expected_version`, and bumps it; last_activity
  // is left alone. conflict when the version moved (another replica changed the server) or the
  // row is gone.
  virtual Result<ServerRow> advance_server(ServerRow const& next, std::int64_t expected_version) = 0;
  // Takes a pending or stopping server over from a driver whose lease ran out (lease_until <=
  // now): driver := `driver`, lease until `lease_until`, version bumped. nullopt when the
  // version moved, the lease is still live, or nothing is pending.
  virtual Result<std::optional<ServerRow>> take_over_server(std::int64_t id, std::int64_t expected_version,
                                                            std::string_view driver, Time now,
                                                            Time lease_until) = 0;
  // Extends the lease of a pending or stopping server that `driver` drives; false when it no
  // longer does (taken over, or the transition ended). The version does not change.
  virtual Result<bool> renew_server_lease(std::int64_t id, std::string_view driver, Time lease_until) = 0;
  // The end of a stop: deletes the row (and its events) when its version is still
  // `expected_version`. Returns whether it did.
  virtual Result<bool> finish_server_stop(std::int64_t id, std::int64_t expected_version,
                                          std::string_view driver) = 0;
  // Appends a progress event and keeps the newest `keep` of the server's events; returns its
  // seq (1, 2, ...). not_found when the server row is gone.
  virtual Result<std::int64_t> append_server_event(std::int64_t server_id, boost::json::object const& event,
                                                   std::size_t keep, std::string_view driver) = 0;
  // The server's events with seq > after_seq, oldest first.
  virtual Result<std::vector<ServerEvent>> list_server_events(std::int64_t server_id, std::int64_t after_seq) = 0;

  // --- ACME (migration 4; acme/acme_manager.hpp) -----------------------------------------
  // Named values the caller has sealed (CryptKeeper); the store never sees them in clear.
  // nullopt when there is none.
  virtual Result<std::optional<AcmeRecord>> get_acme_record(std::string_view name) = 0;
  // Inserts or replaces the value and stamps it `updated`.
  virtual Result<void> put_acme_record(std::string_view name, std::string_view sealed,
                                       Time updated) = 0;
  // Returns whether a record was deleted.
  virtual Result<bool> delete_acme_record(std::string_view name) = 0;
  // Takes or extends the lease `name` for `holder` until `until`, in one conditional statement:
  // it succeeds when there is no lease, when `holder` holds it already, or when the holder's
  // lease ran out (expires <= now). Returns whether `holder` holds it now; a false answer is
  // not an error. Safe between processes on one database (both back ends).
  virtual Result<bool> take_acme_lease(std::string_view name, std::string_view holder, Time now,
                                       Time until) = 0;
  // Gives the lease up if `holder` holds it; a no-op otherwise.
  virtual Result<void> release_acme_lease(std::string_view name, std::string_view holder) = 0;

  // --- leases (migration 5; docs/replicas.md) --------------------------------------------
  // Named leases shared by every nbhub on the database: "job <name>" for work done by one
  // replica at a time (hub/lease_keeper.hpp), "refresh <user>" for the token refresh of one
  // user. The same contract as take_acme_lease: one conditional statement takes or extends
  // `name` for `holder` until `until` when it is free, already ours, or ran out (expires <=
  // now); returns whether `holder` holds it now. bad_request for an empty name or holder.
  virtual Result<bool> take_lease(std::string_view name, std::string_view holder, Time now,
                                  Time until) = 0;
  // Gives the lease up if `holder` holds it; a no-op otherwise.
  virtual Result<void> release_lease(std::string_view name, std::string_view holder) = 0;
  // The current holder and expiry, expired or not; nullopt when there is no row.
  virtual Result<std::optional<LeaseRow>> get_lease(std::string_view name) = 0;

  // Tells every process LISTENing on `channel` (store/pg_listener.hpp) that something changed;
  // `payload` is short and never secret. PostgreSQL: NOTIFY, delivered after this call's
  // transaction commits. SQLite has one process and nobody to tell: a no-op.
  virtual Result<void> notify(std::string_view channel, std::string_view payload) {
    (void)channel, (void)payload;
    return {};
  }
  // --- sharing and runtime services (migration 6; docs/sharing.md) ---------------------------
  // Shares of a server are keyed by (owner_id, server_name); the store does not check that a
  // named server exists (the caller does), and deleting the owner, the user or the group
  // shared with deletes the share (ON DELETE CASCADE); delete_shares_for_server is called
  // when a named server is deleted.
  //
  // Adds `scopes` to the share for `target` on the server, creating it when there is none, and
  // returns it with names filled in; scopes end up sorted and unique. not_found for an unknown
  // owner, user or group; bad_request for empty scopes.
  virtual Result<ShareRow> grant_share(std::int64_t owner_id, std::string_view server_name, ShareTarget target,
                                       std::vector<std::string> const& scopes, Time now) = 0;
  // Removes `scopes` from the share (nullopt: all of them); a share left with no scopes is
  // deleted. Returns what remains, nullopt when nothing does (or there was no share).
  virtual Result<std::optional<ShareRow>> revoke_share(std::int64_t owner_id, std::string_view server_name,
                                                       ShareTarget target,
                                                       std::optional<std::vector<std::string>> const& scopes) = 0;
  virtual Result<std::optional<ShareRow>> find_share(std::int64_t owner_id, std::string_view server_name,
                                                     ShareTarget target) = 0;
  // Deletes every share of the server (nullopt: of every server of the owner); returns how many.
  virtual Result<std::int64_t> delete_shares_for_server(std::int64_t owner_id,
                                                        std::optional<std::string_view> server_name) = 0;
  // A page of shares by id, with the total: those of an owner (and one server of theirs when
  // server_name is set), or those granted to a user (directly or through their groups), or to
  // a group. Exactly one of the three selectors is meant; see ShareQuery.
  struct ShareQuery {
    std::optional<std::int64_t> owner_id;
    std::optional<std::string> server_name;  // with owner_id only
    std::optional<std::int64_t> shared_with_user;
    std::optional<std::int64_t> shared_with_group;
  };
  virtual Result<std::pair<std::vector<ShareRow>, std::int64_t>> list_shares(ShareQuery const& query,
                                                                              std::int64_t offset,
                                                                              std::int64_t limit) = 0;
  // The scopes every share to the user or one of their groups grants, in one query: what a
  // request by the user holds beyond their roles (JupyterHub's get_scopes_for).
  virtual Result<std::vector<std::string>> shared_scopes_for_user(std::int64_t user_id) = 0;

  // Stores a new code (id, owner_name and counters are ignored) and returns it as stored.
  // bad_request for a hash that is not hex SHA-256; conflict when it exists; not_found for
  // an unknown owner.
  virtual Result<ShareCodeRow> create_share_code(ShareCodeRow const& code) = 0;
  // not_found for an unknown or expired code (expires <= clock.now()).
  virtual Result<ShareCodeRow> find_share_code(std::string_view code_hash) = 0;
  // Exchanges a code for a share with `user_id`, in one transaction: the share is granted (or
  // extended), the code's exchange_count and last_exchanged updated. not_found for an unknown
  // or expired code; forbidden when it has been exchanged max_exchanges times already.
  virtual Result<ShareRow> exchange_share_code(std::string_view code_hash, std::int64_t user_id, Time now) = 0;
  // Unexpired codes of an owner (of one server when server_name is set), by id, with the total.
  virtual Result<std::pair<std::vector<ShareCodeRow>, std::int64_t>> list_share_codes(
      std::int64_t owner_id, std::optional<std::string_view> server_name, std::int64_t offset,
      std::int64_t limit) = 0;
  // Deletes the server's codes: one by id, one by hash, or (both nullopt) all; returns how many.
  virtual Result<std::int64_t> delete_share_codes(std::int64_t owner_id, std::string_view server_name,
                                                  std::optional<std::int64_t> id,
                                                  std::optional<std::string_view> code_hash) = 0;
  virtual Result<std::int64_t> purge_expired_share_codes(Time now) = 0;

  // Services created through the API. conflict when the name is taken.
  virtual Result<void> create_runtime_service(RuntimeServiceRow const& service) = 0;
  virtual Result<std::vector<RuntimeServiceRow>> list_runtime_services() = 0;
  // Returns whether one was deleted.
  virtual Result<bool> delete_runtime_service(std::string_view name) = 0;
};

}  // namespace nbhub::store
