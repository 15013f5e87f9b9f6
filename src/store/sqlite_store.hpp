#pragma once
// The SQLite store (the default back end).
//
// Thread safety: one writer connection guarded by `write_mu_`, plus `read_connections`
// read-only connections handed out by a small pool. Writes from this process queue on the
// mutex (so they never meet SQLITE_BUSY among themselves); reads take any free reader and, in
// WAL mode, run beside a commit in progress, seeing the last committed state. An in-memory
// database is private to its connection, so there the writer serves reads too.
//
// Durability: WAL with synchronous=FULL (see sqlite_connection.cpp); a method that returned
// success survives kill -9 and power loss. busy_timeout covers only other processes.
#include "core/clock.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_connection.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace nbhub::store {

class SqliteStore final : public Store {
 public:
  // `path` is a file path (created with its missing directories, see Store::open) or
  // ":memory:". Refuses a schema newer than the migrations it knows.
  static Result<std::unique_ptr<SqliteStore>> open(std::string const& path, Clock const& clock,
                                                   StoreOptions const& options);

  Result<int> schema_version() override;
  int latest_schema_version() const override;
  Result<int> migrate() override;

  Result<UserRow> get_user(std::string_view name) override;
  Result<UserRow> get_user_by_id(std::int64_t id) override;
  Result<bool> user_exists(std::string_view name) override;
  Result<std::vector<UserRow>> list_users(std::int64_t offset, std::int64_t limit) override;
  Result<std::int64_t> count_users() override;
  Result<UserRow> create_user(std::string_view name, bool admin) override;
  Result<UpsertedUser> upsert_user_on_login(LoginUpdate const& login) override;
  Result<void> set_admin(std::string_view name, bool admin) override;
  Result<void> rename_user(std::string_view name, std::string_view new_name) override;
  Result<void> set_group_properties(std::string_view group, boost::json::object const& properties) override;
  Result<void> set_auth_state(std::string_view name, std::optional<std::string> encrypted) override;
  Result<void> set_auth_refreshed(std::string_view name, Time when) override;
  Result<void> delete_user(std::string_view name) override;
  Result<void> touch_activity(std::string_view name, Time when) override;

  Result<void> create_session(SessionRow const& session) override;
  Result<SessionRow> get_session(std::string_view id_hash) override;
  Result<void> touch_session(std::string_view id_hash, Time last_seen) override;
  Result<bool> delete_session(std::string_view id_hash) override;
  Result<std::int64_t> delete_sessions_for_user(std::int64_t user_id) override;
  Result<std::int64_t> purge_expired_sessions(Time now) override;

  Result<std::vector<GroupRow>> list_groups(std::int64_t offset, std::int64_t limit) override;
  Result<GroupRow> get_group(std::string_view name) override;
  Result<GroupRow> add_group(std::string_view name, boost::json::object const& properties) override;
  Result<void> set_group_members(std::string_view group,
                                 std::vector<std::string> const& user_names) override;
  Result<void> delete_group(std::string_view name) override;

  Result<TokenRow> create_token(TokenRow const& token) override;
  Result<TokenRow> find_token(std::string_view hash) override;
  Result<std::vector<TokenRow>> list_tokens(std::int64_t user_id) override;
  Result<bool> delete_token(std::int64_t id) override;
  Result<std::int64_t> delete_tokens_for_server(std::int64_t user_id,
                                                std::string_view server_name) override;
  Result<std::int64_t> delete_tokens_for_session(std::string_view session_id_hash) override;
  Result<void> touch_token(std::int64_t id, Time when) override;
  Result<std::int64_t> purge_expired_tokens(Time now) override;

  Result<OAuthClientRow> upsert_oauth_client(OAuthClientRow const& client) override;
  Result<OAuthClientRow> get_oauth_client(std::string_view client_id) override;
  Result<bool> delete_oauth_client(std::string_view client_id) override;
  Result<void> create_oauth_code(OAuthCodeRow const& code) override;
  Result<OAuthCodeRow> consume_oauth_code(std::string_view code_hash) override;
  Result<std::int64_t> purge_expired_oauth_codes(Time now) override;

  Result<ServerRow> upsert_server(ServerRow const& server) override;
  Result<ServerRow> get_server(std::int64_t user_id, std::string_view name) override;
  Result<std::vector<OwnedServer>> list_servers() override;
  Result<std::vector<ServerRow>> list_servers_for_user(std::int64_t user_id) override;
  Result<bool> delete_server(std::int64_t user_id, std::string_view name) override;
  Result<void> touch_server_activity(std::int64_t user_id, std::string_view name,
                                     Time when) override;

 private:
  SqliteStore(Clock const& clock, std::span<const Migration> migrations)
      : clock_(clock), migrations_(migrations) {}

  // Runs `fn(SqliteConnection&) -> Result<T>` in a read (or write) transaction on a suitable
  // connection and returns its result; any error gets `operation` via annotate().
  template <class Fn>
  auto read(std::string_view operation, Fn&& fn);
  template <class Fn>
  auto write(std::string_view operation, Fn&& fn);
  template <class Fn>
  static auto in_transaction(SqliteConnection& conn, SqliteTransaction::Kind kind,
                             std::string_view operation, Fn&& fn);
  SqliteConnection& acquire_reader();  // blocks while all readers are busy
  void release_reader(SqliteConnection& conn);

  Result<int> current_version(SqliteConnection& conn);
  Result<void> check_not_newer(SqliteConnection& conn);
  Result<void> apply(SqliteConnection& conn, Migration const& m);

  Clock const& clock_;
  std::span<const Migration> migrations_;

  std::mutex write_mu_;
  std::unique_ptr<SqliteConnection> writer_;  // guarded by write_mu_

  std::mutex read_mu_;
  std::condition_variable reader_free_;
  std::vector<std::unique_ptr<SqliteConnection>> readers_;  // owned; fixed after open()
  std::vector<SqliteConnection*> free_readers_;             // guarded by read_mu_
};

// Prefixes operator-facing errors (unavailable, internal, config) with "store: <operation>: ".
// Domain errors (not_found, conflict, bad_request) keep their sentence: it may reach a user.
Error annotate(std::string_view operation, Error e);

// ---- template definitions ---------------------------------------------------------------

template <class Fn>
auto SqliteStore::in_transaction(SqliteConnection& conn, SqliteTransaction::Kind kind,
                                 std::string_view operation, Fn&& fn) {
  using R = decltype(fn(conn));
  auto tx = SqliteTransaction::begin(conn, kind);
  if (!tx) return R(annotate(operation, tx.error()));
  R r = fn(conn);
  if (!r) return R(annotate(operation, r.error()));
  if (auto c = tx->commit(); !c) return R(annotate(operation, c.error()));
  return r;
}

template <class Fn>
auto SqliteStore::write(std::string_view operation, Fn&& fn) {
  std::lock_guard lock(write_mu_);
  return in_transaction(*writer_, SqliteTransaction::Kind::write, operation, fn);
}

template <class Fn>
auto SqliteStore::read(std::string_view operation, Fn&& fn) {
  if (readers_.empty()) {
    std::lock_guard lock(write_mu_);
    return in_transaction(*writer_, SqliteTransaction::Kind::read, operation, fn);
  }
  struct Lease {
    SqliteStore& store;
    SqliteConnection& conn;
    ~Lease() { store.release_reader(conn); }
  } lease{*this, acquire_reader()};
  return in_transaction(lease.conn, SqliteTransaction::Kind::read, operation, fn);
}

}  // namespace nbhub::store
