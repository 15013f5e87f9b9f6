#pragma once
// The PostgreSQL store (db_url = "postgresql://..."), through libpq. Same interface, same
// numbered migrations (rendered with kPostgresDialect) and the same queries as SqliteStore;
// the method files postgres_store_*.cpp mirror sqlite_store_*.cpp and differ only where the
// dialects do (explicit casts where PostgreSQL cannot infer a parameter's type, foreign-key
// errors named from the constraint because a failed statement aborts the transaction).
//
// Thread safety: a pool of at most `pool_size` connections, opened on demand. Each method
// leases one connection for its transaction; when all are leased it waits up to
// busy_timeout and then fails with unavailable. A connection found broken (server restarted,
// network cut) is dropped when returned, and the next lease opens a new one: requests during
// an outage fail cleanly with unavailable, and the store recovers once the server is back.
//
// Durability is the server's (synchronous_commit): a method that returned success has
// committed.
#include "core/clock.hpp"
#include "store/migrations.hpp"
#include "store/postgres_connection.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace nbhub::store {

// RAII transaction: rolls back unless commit() succeeded.
class PgTransaction {
 public:
  enum class Kind {
    read,   // REPEATABLE READ READ ONLY: one snapshot across several SELECTs
    write,  // READ COMMITTED; the queries are written to be safe under it (ON CONFLICT, ...)
  };
  static Result<PgTransaction> begin(PgConnection& conn, Kind kind);
  PgTransaction(PgTransaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  PgTransaction& operator=(PgTransaction&&) = delete;
  ~PgTransaction();
  Result<void> commit();

 private:
  explicit PgTransaction(PgConnection& conn) : conn_(&conn) {}
  PgConnection* conn_;
};

class PostgresStore final : public Store {
 public:
  // `url` as libpq takes it (postgresql://user:password@host:port/db?host=/socket/dir).
  // Connects once to check the server and the schema version.
  static Result<std::unique_ptr<PostgresStore>> open(std::string const& url, Clock const& clock,
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
  Result<void> set_group_properties(std::string_view group,
                                    boost::json::object const& properties) override;
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
  PostgresStore(Clock const& clock, std::span<const Migration> migrations,
                PgConnection::Options conn_options, int pool_size,
                std::chrono::milliseconds lease_timeout)
      : clock_(clock),
        migrations_(migrations),
        conn_options_(std::move(conn_options)),
        pool_size_(pool_size),
        lease_timeout_(lease_timeout) {}

  template <class Fn>
  auto read(std::string_view operation, Fn&& fn) {
    return run(PgTransaction::Kind::read, operation, fn);
  }
  template <class Fn>
  auto write(std::string_view operation, Fn&& fn) {
    return run(PgTransaction::Kind::write, operation, fn);
  }
  template <class Fn>
  auto run(PgTransaction::Kind kind, std::string_view operation, Fn&& fn);
  template <class Fn>
  static auto in_transaction(PgConnection& conn, PgTransaction::Kind kind,
                             std::string_view operation, Fn&& fn);

  Result<PgConnection*> acquire();  // waits up to lease_timeout_ for a free slot
  void release(PgConnection* conn);

  Result<int> current_version(PgConnection& conn);
  Result<void> check_not_newer(PgConnection& conn);
  Result<void> apply(PgConnection& conn, Migration const& m);

  Clock const& clock_;
  std::span<const Migration> migrations_;
  PgConnection::Options conn_options_;
  int pool_size_;
  std::chrono::milliseconds lease_timeout_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  int leased_ = 0;                                   // guarded by pool_mu_
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by pool_mu_
};

Error annotate(std::string_view operation, Error e);  // sqlite_store.cpp

template <class Fn>
auto PostgresStore::in_transaction(PgConnection& conn, PgTransaction::Kind kind,
                                   std::string_view operation, Fn&& fn) {
  using R = decltype(fn(conn));
  auto tx = PgTransaction::begin(conn, kind);
  if (!tx) return R(annotate(operation, tx.error()));
  R r = fn(conn);
  if (!r) return R(annotate(operation, r.error()));
  if (auto c = tx->commit(); !c) return R(annotate(operation, c.error()));
  return r;
}

template <class Fn>
auto PostgresStore::run(PgTransaction::Kind kind, std::string_view operation, Fn&& fn) {
  using R = decltype(fn(std::declval<PgConnection&>()));
  auto conn = acquire();
  if (!conn) return R(annotate(operation, conn.error()));
  struct Lease {
    PostgresStore& store;
    PgConnection* conn;
    ~Lease() { store.release(conn); }
  } lease{*this, *conn};
  return in_transaction(**conn, kind, operation, fn);
}

}  // namespace nbhub::store
