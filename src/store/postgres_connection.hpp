#pragma once
// One libpq connection to PostgreSQL, its prepared statements, and the mapping from SQLSTATEs
// to Errc. PgStatement offers the same surface as SqliteStatement (1-based binds, 0-based
// columns, step/run/changes), so the PostgresStore method files read like the SQLite ones.
//
// Not thread-safe: PostgresStore's pool hands a connection to one thread at a time.
//
// Parameters are written `?` in the portable SQL (sql_dialect.hpp) and renumbered to $1, $2,
// ... here. Values travel as text, except blobs, which travel as binary BYTEA; results come
// back as text (bytea as \x hex, booleans as t/f), which the accessors decode.
#include "core/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct pg_conn;
struct pg_result;

namespace nbhub::store {

class PgConnection;

class PgStatement {
 public:
  PgStatement(PgStatement&& other) noexcept;
  PgStatement& operator=(PgStatement&&) = delete;
  ~PgStatement();

  PgStatement& bind(int index, std::int64_t value);
  PgStatement& bind(int index, bool value);
  PgStatement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  PgStatement& bind(int index, const char* text) = delete;  // would convert to bool
  PgStatement& bind(int index, std::string_view text);
  PgStatement& bind_blob(int index, std::string_view bytes);
  PgStatement& bind_null(int index);

  // The first call executes the statement; then true while a row is ready.
  Result<bool> step();
  Result<void> run();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;  // also reads booleans (t/f) as 1/0
  std::string text(int column) const;
  std::string blob(int column) const;  // decodes bytea's \x hex text
  std::optional<std::int64_t> optional_int64(int column) const;
  std::optional<std::string> optional_blob(int column) const;

  // Rows changed by the statement (INSERT/UPDATE/DELETE), for "deleted?" answers.
  std::int64_t changes() const;

 private:
  friend class PgConnection;
  PgStatement(PgConnection& conn, std::string const& name, int params);

  PgConnection* conn_;
  std::string const* name_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;  // 0 text, 1 binary (blobs)
  pg_result* result_ = nullptr;
  int row_ = -1;
  bool executed_ = false;
};

class PgConnection {
 public:
  struct Options {
    std::string url;      // passed to libpq; may hold a password, never printed
    std::string display;  // the URL without its password, for messages
    std::chrono::milliseconds connect_timeout{5000};
  };

  static Result<std::unique_ptr<PgConnection>> open(Options options);
  ~PgConnection();
  PgConnection(PgConnection const&) = delete;
  PgConnection& operator=(PgConnection const&) = delete;

  // `sql` is portable SQL with `?` parameters; prepared once per connection and cached.
  Result<PgStatement> prepare(std::string_view sql);
  // One or more statements without parameters (DDL, BEGIN, COMMIT); not cached.
  Result<void> exec(std::string const& sql);
  bool in_transaction() const;  // a transaction is open (possibly failed)
  bool broken() const;          // the server connection is lost; the pool replaces it

  // Maps a failed result (or a lost connection when `res` is null) to an Error. Uses only
  // PostgreSQL's primary message and constraint name, never its DETAIL line, which repeats
  // key values (token hashes).
  Error error(pg_result const* res) const;
  std::string const& display() const { return options_.display; }
  // The libpq handle, for PgListener's notification loop (its socket, PQconsumeInput,
  // PQnotifies); nothing else may use it behind the connection's back.
  pg_conn* raw() const { return conn_; }

 private:
  friend class PgStatement;
  explicit PgConnection(Options options) : options_(std::move(options)) {}
  struct Prepared {
    std::string name;
    int params = 0;
  };

  Options options_;
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, Prepared> prepared_;
};

// `?` placeholders outside quotes renumbered to $1..$n; returns the count through `params`.
std::string renumber_placeholders(std::string_view sql, int& params);

// postgresql://user:secret@host/db?password=x  ->  postgresql://user@host/db
std::string redact_postgres_url(std::string_view url);

}  // namespace nbhub::store
