// SqlStoreQueries: named leases (migration 5; docs/replicas.md).
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::take_lease(std::string_view name,
                                                                         std::string_view holder,
                                                                         Time now, Time until) {
  if (name.empty() || holder.empty())
    return make_error(Errc::bad_request, "a lease needs a name and a holder");
  return write("take_lease", [&](Connection& c) -> Result<bool> {
    // One statement decides (as take_acme_lease): inserted, or updated only when the holder is
    // us or the lease ran out. Under PostgreSQL's READ COMMITTED, a concurrent upsert of the
    // same name waits for ours and then re-checks the WHERE against our committed row, so two
    // holders never both win.
    auto n = run_counting(c,
                          "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) "
                          "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                          "expires = excluded.expires "
                          "WHERE leases.holder = excluded.holder OR leases.expires <= ?",
                          [&](auto& st) {
                            st.bind(1, name).bind(2, holder).bind(3, to_db_time(until)).bind(4, to_db_time(now));
                          });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::release_lease(std::string_view name,
                                                                            std::string_view holder) {
  return write("release_lease", [&](Connection& c) -> Result<void> {
    auto n = run_counting(c, "DELETE FROM leases WHERE name = ? AND holder = ?",
                          [&](auto& st) { st.bind(1, name).bind(2, holder); });
    if (!n) return n.error();
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<std::optional<LeaseRow>> SqlStoreQueries<Derived, Connection, Statement>::get_lease(
    std::string_view name) {
  return read("get_lease", [&](Connection& c) -> Result<std::optional<LeaseRow>> {
    auto st = c.prepare("SELECT holder, expires FROM leases WHERE name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, name).step();
    if (!row) return row.error();
    if (!*row) return std::optional<LeaseRow>{};
    return std::optional<LeaseRow>{LeaseRow{st->text(0), from_db_time(st->int64(1))}};
  });
}

}  // namespace nbhub::store
