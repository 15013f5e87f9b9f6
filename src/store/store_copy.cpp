#include "store/store_copy.hpp"

#include "store/postgres_connection.hpp"
#include "store/store.hpp"
#include "store/store_url.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace nbhub::store {

namespace {

// Parents before children (migrations.cpp's foreign keys).
constexpr std::string_view kTables[] = {"users",         "groups",     "user_group_map",
                                        "sessions",      "oauth_clients", "api_tokens",
                                        "imported_token_hashes", "oauth_codes",   "servers",
                                        "server_events", "named_servers", "acme_records", "shares",
                                        "share_codes",   "runtime_services", "server_choices"};
// Tables whose id is assigned by the database: their sequences must continue after SQLite's.
constexpr std::string_view kIdTables[] = {"users", "groups", "api_tokens", "servers", "shares",
                                          "share_codes"};

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtCloser {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};

Error sqlite_error(sqlite3* db, std::string const& what) {
  return make_error(Errc::unavailable, "db copy: " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<CopyReport> copy_sqlite_to_postgres(std::string_view sqlite_url,
                                           std::string_view postgres_url, Clock const& clock) {
  auto from = StoreUrl::parse(sqlite_url);
  if (!from) return from.error();
  auto to = StoreUrl::parse(postgres_url);
  if (!to) return to.error();
  if (from->kind != StoreUrl::Kind::sqlite_file)
    return make_error(Errc::config, "db copy: the source must be a SQLite file (sqlite:///path)");
  if (to->kind != StoreUrl::Kind::postgresql)
    return make_error(Errc::config, "db copy: the destination must be postgresql://...");

  // Store::open would create a missing file: a typo must not "copy" an empty database.
  if (::access(from->path.c_str(), R_OK) != 0)
    return make_error(Errc::config, "db copy: cannot read the SQLite file " + from->path);
  // Bring both schemas to this binary's version through the stores themselves.
  for (auto url : {sqlite_url, postgres_url}) {
    auto s = Store::open(url, clock);
    if (!s) return s.error();
    if (auto v = (*s)->migrate(); !v) return v.error();
  }
  {
    auto dst = Store::open(postgres_url, clock);
    if (!dst) return dst.error();
    auto n = (*dst)->count_users();
    if (!n) return n.error();
    if (*n > 0)
      return make_error(Errc::conflict, "db copy: the PostgreSQL database already holds " +
                                            std::to_string(*n) +
                                            " users; copy into an empty database");
  }

  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(from->path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::unique_ptr<sqlite3, SqliteCloser> guard(raw);
    return sqlite_error(raw, "cannot open " + from->path);
  }
  std::unique_ptr<sqlite3, SqliteCloser> src(raw);

  auto conn = PgConnection::open({std::string(postgres_url), redact_postgres_url(postgres_url),
                                  std::chrono::seconds{10}});
  if (!conn) return conn.error();
  auto& pg = **conn;
  if (auto r = pg.exec("BEGIN"); !r) return r.error();
  CopyReport report;
  // SQLite's one read transaction: a consistent snapshot even if a hub is still writing.
  sqlite3_exec(src.get(), "BEGIN", nullptr, nullptr, nullptr);
  for (auto table : kTables) {
    sqlite3_stmt* st_raw = nullptr;
    auto select = "SELECT * FROM " + std::string(table);
    if (sqlite3_prepare_v2(src.get(), select.c_str(), -1, &st_raw, nullptr) != SQLITE_OK)
      return sqlite_error(src.get(), "reading " + std::string(table));
    std::unique_ptr<sqlite3_stmt, StmtCloser> st(st_raw);
    int columns = sqlite3_column_count(st.get());
    std::string insert = "INSERT INTO " + std::string(table) + " (";
    for (int c = 0; c < columns; ++c)
      insert += std::string(c ? ", " : "") + sqlite3_column_name(st.get(), c);
    insert += ") VALUES (";
    for (int c = 0; c < columns; ++c) insert += c ? ", ?" : "?";
    insert += ")";
    std::int64_t rows = 0;
    for (;;) {
      int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite_error(src.get(), "reading " + std::string(table));
      auto ins = pg.prepare(insert);
      if (!ins) return ins.error();
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(st.get(), c)) {
          case SQLITE_NULL: ins->bind_null(c + 1); break;
          case SQLITE_INTEGER: ins->bind(c + 1, std::int64_t{sqlite3_column_int64(st.get(), c)}); break;
          case SQLITE_BLOB:
            ins->bind_blob(c + 1, std::string_view(static_cast<const char*>(sqlite3_column_blob(st.get(), c)),
                                                   sqlite3_column_bytes(st.get(), c)));
            break;
          default:
            ins->bind(c + 1, std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), c)),
                                              sqlite3_column_bytes(st.get(), c)));
        }
      }
      if (auto r = ins->run(); !r) {
        auto e = r.error();
        e.message = "db copy: table " + std::string(table) + ": " + e.message;
        return e;
      }
      ++rows;
    }
    report.rows[std::string(table)] = rows;
  }
  for (auto table : kIdTables) {
    // The next id follows the larger of SQLite's counter and the largest id copied.
    std::int64_t next_after = 0;
    sqlite3_stmt* st_raw = nullptr;
    if (sqlite3_prepare_v2(src.get(), "SELECT seq FROM sqlite_sequence WHERE name = ?", -1,
                           &st_raw, nullptr) == SQLITE_OK) {
      std::unique_ptr<sqlite3_stmt, StmtCloser> st(st_raw);
      sqlite3_bind_text(st.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
      if (sqlite3_step(st.get()) == SQLITE_ROW) next_after = sqlite3_column_int64(st.get(), 0);
    }
    auto sql = "SELECT setval(pg_get_serial_sequence('" + std::string(table) +
               "', 'id'), GREATEST(?::bigint, (SELECT COALESCE(MAX(id), 0) FROM " +
               std::string(table) + "), 1))";
    auto set = pg.prepare(sql);
    if (!set) return set.error();
    if (auto r = set->bind(1, next_after).run(); !r) return r.error();
  }
  if (auto r = pg.exec("COMMIT"); !r) return r.error();
  return report;
}

}  // namespace nbhub::store
