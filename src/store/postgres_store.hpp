#pragma once
// The PostgreSQL store (db_url = "postgresql://..."), through libpq. Same interface, same
// numbered migrations (rendered with kPostgresDialect) and the same queries as SqliteStore:
// the query code is SqlStoreQueries (sql_store_queries.hpp), shared with SqliteStore; this
// class adds the connection pool, the migrations and the dialect spots (an explicit cast
// where PostgreSQL cannot infer a parameter's type, foreign-key errors named from the
// constraint because a failed statement aborts the transaction).
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
#include "store/sql_dialect.hpp"
#include "store/sql_store_queries.hpp"
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

class PostgresStore final : public SqlStoreQueries<PostgresStore, PgConnection, PgStatement> {
 public:
  // `url` as libpq takes it (postgresql://user:password@host:port/db?host=/socket/dir).
  // Connects once to check the server and the schema version.
  static Result<std::unique_ptr<PostgresStore>> open(std::string const& url, Clock const& clock,
                                                     StoreOptions const& options);

  Result<int> migrate() override;
  Result<void> notify(std::string_view channel, std::string_view payload) override;

 private:
  // The queries (sql_store_*.ipp) run through read(), write() and the dialect spots below.
  friend class SqlStoreQueries<PostgresStore, PgConnection, PgStatement>;

  PostgresStore(Clock const& clock, std::span<const Migration> migrations,
                PgConnection::Options conn_options, int pool_size,
                std::chrono::milliseconds lease_timeout)
      : SqlStoreQueries(clock, migrations),
        conn_options_(std::move(conn_options)),
        pool_size_(pool_size),
        lease_timeout_(lease_timeout) {}

  // PostgreSQL cannot infer the type of a parameter in a SELECT list.
  static constexpr SqlDialect const& kDialect = kPostgresDialect;
  static std::string describe(PgConnection const& c) { return c.display(); }
  static constexpr std::string_view kInt64Param = "?::bigint";
  // After a foreign-key failure (not_found from PgConnection::error), names the missing row.
  // PostgreSQL aborts the transaction at the failed statement, so unlike SqliteStore this
  // cannot query; it reads the violated constraint's name, which PgConnection::error puts in
  // brackets.
  static Error missing_parent(PgConnection& c, Error const& fk_error,
                              std::optional<std::int64_t> user_id,
                              std::optional<std::string_view> client_id);

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
