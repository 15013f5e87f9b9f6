#pragma once
// RAII transaction: rolls back unless commit() succeeded, so every early `return error` in
// SqliteStore leaves the database as it was.
#include "core/result.hpp"
#include "store/sqlite_connection.hpp"

namespace nbhub::store {

class SqliteTransaction {
 public:
  enum class Kind {
    read,   // BEGIN (deferred): one consistent snapshot across several SELECTs
    write,  // the dialect's begin_write (BEGIN IMMEDIATE): takes the write lock at once
  };

  static Result<SqliteTransaction> begin(SqliteConnection& conn, Kind kind);

  SqliteTransaction(SqliteTransaction&& other) noexcept : conn_(other.conn_) {
    other.conn_ = nullptr;
  }
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction() { rollback(); }

  // On failure the transaction is rolled back by the destructor.
  Result<void> commit();

 private:
  explicit SqliteTransaction(SqliteConnection& conn) : conn_(&conn) {}
  void rollback() noexcept;

  SqliteConnection* conn_;  // nullptr once committed or moved from
};

}  // namespace nbhub::store
