#pragma once
// The hub's persistent state: users, groups, login sessions (servers and tokens follow as new
// migrations). One interface, two back ends: SQLite (sqlite_store.hpp, the default) and
// PostgreSQL (a later issue). SQL that differs between them lives in sql_dialect.hpp.
//
// Contract for every method:
//  * Synchronous and blocking (fsync on every commit). Call it from the blocking pool, never
//    from an I/O thread (STYLE.md §6.7). Every method is thread-safe; how an implementation
//    achieves that is documented on the implementation.
//  * Each method is one transaction: it commits entirely or leaves nothing behind. A method
//    that returned success has made its change durable.
//  * Errors (Result):
//      not_found    the named user, group or session does not exist
//      conflict     a unique key is taken (user name, group name, session id hash)
//      bad_request  an argument the store refuses outright (an empty name)
//      unavailable  the database is locked by another process past the busy timeout, the disk
//                   is full, an I/O error, an unreadable or corrupt file
//      config       the URL is malformed, or the schema is newer than this binary
//      internal     anything else (a bug; the message carries SQLite's diagnosis)
//    Messages are for the operator, name the file and what to do, and never contain row
//    contents that could be secret (auth_state, session hashes). User and group names are not
//    secret and may appear.
//  * migrate() must have run (once, by the process owning the database) before any other
//    method; otherwise they fail with internal ("no such table").
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/rows.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::store {

struct Migration;  // migrations.hpp

struct StoreOptions {
  // How long a write waits for another process holding the database lock before failing with
  // unavailable. Within one process writes queue on a mutex instead and never hit this.
  std::chrono::milliseconds busy_timeout{5000};
  // Read-only connections beside the writer (file databases only; WAL lets them read while
  // the writer commits). 0 sends reads through the writer connection.
  int read_connections = 2;
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
  // A missing directory is created (mode 0700) and a new file gets mode 0600. Refuses with
  // config a database whose schema is newer than this binary. Does not migrate.
  // `clock` must outlive the store; it stamps created/auth_refreshed and expires sessions.
  static Result<std::unique_ptr<Store>> open(std::string_view url, Clock const& clock,
                                             StoreOptions options = {});

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
  // Creates a user (the admin API, `allowed_users` at startup); conflict if the name is taken.
  virtual Result<UserRow> create_user(std::string_view name, bool admin) = 0;
  // Creates or updates the user after a successful login, in one transaction; see
  // LoginUpdate for what nullopt means. Sets auth_refreshed to now.
  virtual Result<UpsertedUser> upsert_user_on_login(LoginUpdate const& login) = 0;
  virtual Result<void> set_admin(std::string_view name, bool admin) = 0;
  // Replaces the stored auth_state; nullopt removes it. Leaves auth_refreshed alone so that
  // re-encrypting under a rotated key does not count as a refresh.
  virtual Result<void> set_auth_state(std::string_view name,
                                      std::optional<std::string> encrypted) = 0;
  virtual Result<void> set_auth_refreshed(std::string_view name, Time when) = 0;
  // Deletes the user with their sessions and group memberships.
  virtual Result<void> delete_user(std::string_view name) = 0;
  // Records activity at `when`; never moves last_activity backwards, because activity reports
  // from proxies and servers arrive out of order.
  virtual Result<void> touch_activity(std::string_view name, Time when) = 0;

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
};

}  // namespace nbhub::store
