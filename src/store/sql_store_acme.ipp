// SqlStoreQueries: ACME records and renewal leases (migration 4).
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

template <class Derived, class Connection, class Statement>
Result<std::optional<AcmeRecord>> SqlStoreQueries<Derived, Connection, Statement>::get_acme_record(
    std::string_view name) {
  return read("get_acme_record", [&](Connection& c) -> Result<std::optional<AcmeRecord>> {
    auto st = c.prepare("SELECT sealed, updated FROM acme_records WHERE name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, name).step();
    if (!row) return row.error();
    if (!*row) return std::optional<AcmeRecord>{};
    return std::optional<AcmeRecord>{AcmeRecord{st->text(0), from_db_time(st->int64(1))}};
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::put_acme_record(
    std::string_view name, std::string_view sealed, Time updated) {
  if (name.empty()) return make_error(Errc::bad_request, "an ACME record needs a name");
  return write("put_acme_record", [&](Connection& c) -> Result<void> {
    auto n = run_counting(c,
                          "INSERT INTO acme_records (name, sealed, updated) VALUES (?, ?, ?) "
                          "ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, "
                          "updated = excluded.updated",
                          [&](auto& st) { st.bind(1, name).bind(2, sealed).bind(3, to_db_time(updated)); });
    if (!n) return n.error();
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_acme_record(std::string_view name) {
  return write("delete_acme_record", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM acme_records WHERE name = ?",
                          [&](auto& st) { st.bind(1, name); });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::take_acme_lease(
    std::string_view name, std::string_view holder, Time now, Time until) {
  if (name.empty() || holder.empty())
    return make_error(Errc::bad_request, "an ACME lease needs a name and a holder");
  return write("take_acme_lease", [&](Connection& c) -> Result<bool> {
    // One statement decides, so two processes cannot both win: the row is inserted, or
    // updated only when its holder is us or its lease ran out (an upsert's WHERE, which
    // SQLite >= 3.24 and PostgreSQL both have). Then read who holds it.
    auto n = run_counting(c,
                          "INSERT INTO acme_leases (name, holder, expires) VALUES (?, ?, ?) "
                          "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                          "expires = excluded.expires "
                          "WHERE acme_leases.holder = excluded.holder OR acme_leases.expires <= ?",
                          [&](auto& st) {
                            st.bind(1, name).bind(2, holder).bind(3, to_db_time(until)).bind(4, to_db_time(now));
                          });
    if (!n) return n.error();
    auto st = c.prepare("SELECT holder FROM acme_leases WHERE name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, name).step();
    if (!row) return row.error();
    return *row && st->text(0) == holder;
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::release_acme_lease(
    std::string_view name, std::string_view holder) {
  return write("release_acme_lease", [&](Connection& c) -> Result<void> {
    auto n = run_counting(c, "DELETE FROM acme_leases WHERE name = ? AND holder = ?",
                          [&](auto& st) { st.bind(1, name).bind(2, holder); });
    if (!n) return n.error();
    return {};
  });
}

}  // namespace nbhub::store
