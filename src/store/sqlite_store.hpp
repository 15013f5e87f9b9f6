#pragma once
// The SQLite store (the default back end). Its queries are SqlStoreQueries
// (sql_store_queries.hpp), shared with PostgresStore; this class adds the connections, the
// transactions, the migrations and the dialect spots.
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
#include "store/sql_dialect.hpp"
#include "store/sql_store_queries.hpp"
#include "store/sqlite_connection.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace nbhub::store {

class SqliteStore final
    : public SqlStoreQueries<SqliteStore, SqliteConnection, SqliteStatement> {
 public:
  // `path` is a file path (created with its missing directories, see Store::open) or
  // ":memory:". Refuses a schema newer than the migrations it knows.
  static Result<std::unique_ptr<SqliteStore>> open(std::string const& path, Clock const& clock,
                                                   StoreOptions const& options);

  Result<int> migrate() override;

 private:
  // The queries (sql_store_*.ipp) run through read(), write() and the dialect spots below.
  friend class SqlStoreQueries<SqliteStore, SqliteConnection, SqliteStatement>;

  SqliteStore(Clock const& clock, std::span<const Migration> migrations)
      : SqlStoreQueries(clock, migrations) {}

  // SQLite infers a parameter's type from the value bound to it.
  static constexpr SqlDialect const& kDialect = kSqliteDialect;
  static std::string describe(SqliteConnection const& c) { return c.path(); }
  static constexpr std::string_view kInt64Param = "?";
  // After a foreign-key failure (not_found from SqliteConnection::error), names the missing
  // row: the user, else the OAuth client. Runs inside the failed statement's transaction,
  // which SQLite keeps open (only the statement was undone), so it can look them up.
  static Error missing_parent(SqliteConnection& c, Error const& fk_error,
                              std::optional<std::int64_t> user_id,
                              std::optional<std::string_view> client_id);

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
