// SqlStoreQueries: the schema version (reading it, refusing a newer one, recording a migration).
// Included by each back end's explicit instantiation (see sql_store_queries.hpp). The migration
// loop itself stays in each store: how it locks (SQLite's writer mutex, PostgreSQL's advisory
// lock) differs.
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

template <class Derived, class Connection, class Statement>
int SqlStoreQueries<Derived, Connection, Statement>::latest_schema_version() const {
  return static_cast<int>(migrations_.size());
}

template <class Derived, class Connection, class Statement>
Result<int> SqlStoreQueries<Derived, Connection, Statement>::schema_version() {
  return read("schema_version", [&](Connection& c) { return current_version(c); });
}

template <class Derived, class Connection, class Statement>
Result<int> SqlStoreQueries<Derived, Connection, Statement>::current_version(Connection& conn) {
  {
    auto st = conn.prepare(Derived::kDialect.table_exists);
    if (!st) return st.error();
    st->bind(1, std::string_view("schema_version"));
    auto row = st->step();
    if (!row) return row.error();
    if (!*row || st->int64(0) == 0) return 0;
  }
  auto st = conn.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  return static_cast<int>(st->int64(0));
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::check_not_newer(Connection& conn) {
  auto v = current_version(conn);
  if (!v) return v.error();
  if (*v > latest_schema_version() && latest_schema_version() >= kFirstCompatVersion) {
    // A newer binary migrated (a rolling upgrade, migrations.hpp): every migration above ours
    // must say that a binary at our version may keep running.
    auto st = conn.prepare(
        "SELECT COUNT(*), COALESCE(MAX(COALESCE(oldest_reader, version)), 0) FROM schema_version "
        "WHERE version > ?");
    if (!st) return st.error();
    st->bind(1, std::int64_t{latest_schema_version()});
    auto row = st->step();
    if (!row) return row.error();
    auto const newer = st->int64(0);
    auto const oldest = st->int64(1);
    if (newer == *v - latest_schema_version() && oldest <= latest_schema_version()) return {};
  }
  if (*v > latest_schema_version())
    return make_error(Errc::config,
                      "database " + Derived::describe(conn) + " has schema version " +
                          std::to_string(*v) + ", newer than this nbhub understands (" +
                          std::to_string(latest_schema_version()) +
                          "): a newer nbhub has upgraded it. Run that version, or restore the "
                          "backup taken before the upgrade");
  return {};
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::apply(Connection& conn,
                                                                    Migration const& m) {
  if (auto r = conn.exec(Derived::kDialect.render(m.sql)); !r) return r.error();
  if (m.version < kFirstCompatVersion) {
    auto st = conn.prepare(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, std::int64_t{m.version}).bind(2, m.description).bind(3, to_db_time(clock_.now()));
    return st->run();
  }
  // From migration 5 on, schema_version has oldest_reader (migration 5 adds it above).
  auto st = conn.prepare(
      "INSERT INTO schema_version (version, description, applied_at, oldest_reader) "
      "VALUES (?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, std::int64_t{m.version}).bind(2, m.description).bind(3, to_db_time(clock_.now()));
  st->bind(4, std::int64_t{m.oldest_reader > 0 ? m.oldest_reader : m.version});
  return st->run();
}

}  // namespace nbhub::store
