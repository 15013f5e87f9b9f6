#include "store/sqlite_transaction.hpp"

#include "store/sql_dialect.hpp"

namespace nbhub::store {

Result<SqliteTransaction> SqliteTransaction::begin(SqliteConnection& conn, Kind kind) {
  auto st = conn.prepare(kind == Kind::write ? kSqliteDialect.begin_write : "BEGIN");
  if (!st) return st.error();
  if (auto r = st->run(); !r) return r.error();
  return SqliteTransaction(conn);
}

Result<void> SqliteTransaction::commit() {
  {
    auto st = conn_->prepare("COMMIT");
    if (!st) return st.error();
    if (auto r = st->run(); !r) return r.error();
  }
  conn_ = nullptr;
  return {};
}

void SqliteTransaction::rollback() noexcept {
  if (!conn_) return;
  // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR); a ROLLBACK
  // then would only fail with "no transaction is active".
  if (conn_->in_transaction()) {
    auto st = conn_->prepare("ROLLBACK");
    // Nothing more to do if even ROLLBACK fails: the connection reports the same I/O error
    // on its next use, and SQLite's hot-journal recovery restores the file on next open.
    if (st) (void)st->run();
  }
  conn_ = nullptr;
}

}  // namespace nbhub::store
