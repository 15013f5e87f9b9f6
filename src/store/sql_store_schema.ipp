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
  auto st = conn.prepare(
      "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, std::int64_t{m.version}).bind(2, m.description).bind(3, to_db_time(clock_.now()));
  return st->run();
}

}  // namespace nbhub::store
