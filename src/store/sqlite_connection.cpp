#include "store/sqlite_connection.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace nbhub::store {

// ---- SqliteStatement --------------------------------------------------------------------

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : conn_(other.conn_), stmt_(other.stmt_), in_use_(other.in_use_) {
  other.stmt_ = nullptr;
}

SqliteStatement::~SqliteStatement() {
  if (stmt_) SqliteConnection::release(stmt_, in_use_);
}

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
  // Bind errors (index out of range, SQLITE_TOOBIG) are programming errors in our fixed SQL
  // or absurd sizes; either way the following step() fails with the recorded error.
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  // An empty std::string_view{} has no data, which SQLite would bind as NULL: "" is text.
  sqlite3_bind_text64(stmt_, index, text.data() ? text.data() : "", text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL: sqlite3_bind_blob64 with a null
  // pointer would bind NULL.
  static constexpr char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                      SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->error(rc);
}

Result<void> SqliteStatement::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

bool SqliteStatement::is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }

std::int64_t SqliteStatement::int64(int c) const { return sqlite3_column_int64(stmt_, c); }

std::string SqliteStatement::text(int c) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
  return p ? std::string(p, sqlite3_column_bytes(stmt_, c)) : std::string();
}

std::string SqliteStatement::blob(int c) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
  return p ? std::string(p, sqlite3_column_bytes(stmt_, c)) : std::string();
}

std::optional<std::int64_t> SqliteStatement::optional_int64(int c) const {
  if (is_null(c)) return std::nullopt;
  return int64(c);
}

std::optional<std::string> SqliteStatement::optional_blob(int c) const {
  if (is_null(c)) return std::nullopt;
  return blob(c);
}

std::int64_t SqliteStatement::changes() const {
  return sqlite3_changes64(sqlite3_db_handle(stmt_));
}

// ---- SqliteConnection -------------------------------------------------------------------

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(Options options) {
  // No up-front page-cache block per connection (SQLite's default is 20 pages, about 85 KiB,
  // allocated and touched at the first transaction: a quarter MiB of idle RSS for the writer
  // and two readers); cache pages are allocated as they are used instead. Must precede
  // sqlite3_initialize, so the first open does it; later calls would be refused, harmlessly.
  static int const page_cache_configured = sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
  (void)page_cache_configured;
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(std::move(options)));
  auto const& o = conn->options_;
  bool memory = o.path == ":memory:";
  // No SQLITE_OPEN_CREATE for files: SqliteStore creates the file with mode 0600 first, and a
  // file that vanished in between should be an error, not a new world-readable database.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (memory) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(o.path.c_str(), &conn->db_, flags, nullptr);
  if (rc != SQLITE_OK) return conn->error(rc);
  sqlite3_extended_result_codes(conn->db_, 1);
  sqlite3_busy_timeout(conn->db_, static_cast<int>(o.busy_timeout.count()));
  // Refuse schema tricks (writable_schema and friends) that could corrupt the file.
  sqlite3_db_config(conn->db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);

  std::string pragmas =
      // Enforced per connection, not per file: the cascades in migrations.cpp depend on it.
      "PRAGMA foreign_keys = ON;"
      // Durability over speed. In WAL mode NORMAL survives a crash of nbhub (kill -9) but may
      // lose the last commits on power loss or a kernel panic; FULL fsyncs the WAL at every
      // commit, so a login or logout the store acknowledged is never lost. Hub writes are
      // few (logins, activity), so the fsync per commit is affordable.
      "PRAGMA synchronous = FULL;"
      // The schema is ours; no function in it needs to be trusted.
      "PRAGMA trusted_schema = OFF;";
  if (o.read_only) pragmas += "PRAGMA query_only = ON;";
  if (auto r = conn->exec(pragmas); !r) return r.error();

  if (!memory && !o.read_only) {
    // WAL lets readers run beside the writer, and a commit is one append plus fsync. The mode
    // is stored in the file, so readers opened later inherit it.
    auto st = conn->prepare("PRAGMA journal_mode = WAL");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row || st->text(0) != "wal")
      return make_error(Errc::unavailable,
                        "database " + o.path +
                            " cannot use write-ahead logging (is it on a network file system "
                            "without shared memory?); put it on a local disk");
  }
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, slot] : cache_) sqlite3_finalize(slot.stmt);
  // sqlite3_close_v2 defers the close until every statement is finalized; there are none
  // left, so this closes now and, for the last connection, checkpoints the WAL.
  if (db_) sqlite3_close_v2(db_);
}

Result<SqliteStatement> SqliteConnection::prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return SqliteStatement(*this, it->second.stmt, &it->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  bool cache = it == cache_.end();
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, &tail);
  if (rc != SQLITE_OK) return error(rc);
  if (!stmt) return make_error(Errc::internal, "prepared an empty SQL statement");
  if (!cache) return SqliteStatement(*this, stmt, nullptr);
  auto [slot, inserted] = cache_.emplace(std::string(sql), Cached{stmt, true});
  return SqliteStatement(*this, stmt, &slot->second.in_use);
}

void SqliteConnection::release(sqlite3_stmt* stmt, bool* in_use) noexcept {
  if (!in_use) {
    sqlite3_finalize(stmt);
    return;
  }
  sqlite3_reset(stmt);  // its result repeats the step() error already reported
  sqlite3_clear_bindings(stmt);
  *in_use = false;
}

Result<void> SqliteConnection::exec(std::string const& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc);
  return {};
}

bool SqliteConnection::in_transaction() const { return db_ && !sqlite3_get_autocommit(db_); }

Error SqliteConnection::error(int rc) const {
  std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  auto const& path = options_.path;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error(
          Errc::unavailable,
          fmt::format("database {} is locked by another process for more than {:g} s: is a "
                      "second nbhub running on the same file?",
                      path, static_cast<double>(options_.busy_timeout.count()) / 1000.0));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return make_error(Errc::conflict, "already exists (" + detail + ")");
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return make_error(Errc::not_found, "refers to a row that does not exist (" + detail + ")");
      return make_error(Errc::internal, "constraint violated (" + detail + ")");
    case SQLITE_FULL:
      return make_error(Errc::unavailable,
                        "the disk holding database " + path + " is full; free space and retry");
    case SQLITE_IOERR:
      return make_error(Errc::unavailable, "I/O error on database " + path + " (" + detail +
                                               "); check the disk, the file system and the "
                                               "kernel log");
    case SQLITE_READONLY:
      return make_error(Errc::unavailable,
                        "database " + path + " is read-only for this process (" + detail +
                            "); check the permissions of the file, its -wal and -shm files "
                            "and its directory");
    case SQLITE_CANTOPEN:
      return make_error(Errc::unavailable,
                        "cannot open database " + path + " (" + detail +
                            "); check that it and its directory exist and are writable by the "
                            "user running nbhub");
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return make_error(Errc::unavailable,
                        "access to database " + path + " denied (" + detail + ")");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return make_error(Errc::unavailable, "database " + path +
                                               " is corrupt or not an SQLite database (" + detail +
                                               "); stop nbhub and restore the file from a backup");
    case SQLITE_NOMEM: return make_error(Errc::unavailable, "SQLite ran out of memory");
    default:
      return make_error(Errc::internal,
                        fmt::format("SQLite error {} ({}): {}", rc, sqlite3_errstr(rc), detail));
  }
}

}  // namespace nbhub::store
