#pragma once
// One SQLite connection with its cache of prepared statements, and the mapping from SQLite
// result codes to Errc with messages an operator can act on.
//
// Not thread-safe: exactly one thread uses a connection at a time (SqliteStore's mutex or
// reader pool guarantees it), which is why it is opened with SQLITE_OPEN_NOMUTEX.
#include "core/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace nbhub::store {

class SqliteConnection;

// A prepared statement checked out of a connection's cache. Binding is 1-based, columns
// 0-based, as in the C API. On destruction it is reset and its bindings cleared, so the next
// user finds it clean (and a read statement does not hold its snapshot open).
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  SqliteStatement& bind(int index, std::int64_t value);
  SqliteStatement& bind(int index, bool value) { return bind(index, std::int64_t{value}); }
  SqliteStatement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  // A literal would otherwise convert to bool, silently.
  SqliteStatement& bind(int index, const char* text) = delete;
  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind_blob(int index, std::string_view bytes);
  SqliteStatement& bind_null(int index);

  // true: a row is ready; false: done. Errors are mapped by the connection.
  Result<bool> step();
  // For statements that return nothing: steps to the end.
  Result<void> run();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;
  std::string blob(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::optional<std::string> optional_blob(int column) const;

  // Rows changed by the last run(), for "deleted?" answers.
  std::int64_t changes() const;

 private:
  friend class SqliteConnection;
  SqliteStatement(SqliteConnection& conn, sqlite3_stmt* stmt, bool* in_use) noexcept
      : conn_(&conn), stmt_(stmt), in_use_(in_use) {}

  SqliteConnection* conn_;
  sqlite3_stmt* stmt_;
  // The cache slot's flag; nullptr for a duplicate prepared because the cached statement was
  // already checked out (a nested use), which is finalized instead of returned.
  bool* in_use_;
};

class SqliteConnection {
 public:
  struct Options {
    std::string path;  // a file path, or ":memory:"
    std::chrono::milliseconds busy_timeout{5000};
    bool read_only = false;  // PRAGMA query_only: a bug cannot write through a reader
  };

  // Opens and configures the connection (pragmas in the .cpp say why each is set). The file
  // must already exist unless it is ":memory:"; SqliteStore creates it with mode 0600.
  static Result<std::unique_ptr<SqliteConnection>> open(Options options);
  ~SqliteConnection();
  SqliteConnection(SqliteConnection const&) = delete;
  SqliteConnection& operator=(SqliteConnection const&) = delete;

  // `sql` should be a string literal or otherwise long-lived text: it is the cache key, and
  // prepared statements persist for the life of the connection.
  Result<SqliteStatement> prepare(std::string_view sql);
  // Runs one or more statements without parameters (DDL, pragmas); not cached.
  Result<void> exec(std::string const& sql);
  // Whether a transaction is open (SQLite may roll one back by itself after some errors).
  bool in_transaction() const;

  // Maps a SQLite result code (extended codes are on) to an Error whose message says what
  // to do; SqliteStore prefixes the operation. Never includes bound values: SQLite's own
  // messages name tables and columns only.
  Error error(int rc) const;
  std::string const& path() const { return options_.path; }

 private:
  friend class SqliteStatement;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  explicit SqliteConnection(Options options) : options_(std::move(options)) {}
  static void release(sqlite3_stmt* stmt, bool* in_use) noexcept;

  Options options_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace nbhub::store
