// SqlStoreQueries: named servers defined before they run (JupyterHub 6.0's PUT; migration 6).
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

namespace {

#define NBHUB_NAMED_SERVER_COLUMNS "user_id, name, display_name, user_options, created"

Result<NamedServerRow> named_server_from(auto const& st) {
  NamedServerRow s;
  s.user_id = st.int64(0);
  s.name = st.text(1);
  s.display_name = st.text(2);
  auto options = object_from_db_json(st.text(3));
  if (!options)
    return make_error(Errc::internal, "the user_options of named server '" + s.name +
                                          "' are not a JSON object; was the database edited by hand?");
  s.user_options = std::move(*options);
  s.created = from_db_time(st.int64(4));
  return s;
}

Result<std::optional<NamedServerRow>> named_server_by_key(auto& c, std::int64_t user_id, std::string_view name) {
  auto st = c.prepare("SELECT " NBHUB_NAMED_SERVER_COLUMNS " FROM named_servers WHERE user_id = ? AND name = ?");
  if (!st) return st.error();
  auto row = st->bind(1, user_id).bind(2, name).step();
  if (!row) return row.error();
  if (!*row) return std::optional<NamedServerRow>{};
  auto s = named_server_from(*st);
  if (!s) return s.error();
  return std::optional<NamedServerRow>{std::move(*s)};
}

Error named_server_exists(std::string_view name) {
  return make_error(Errc::conflict, "a server named '" + std::string(name) + "' already exists");
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<NamedServerRow> SqlStoreQueries<Derived, Connection, Statement>::create_named_server(
    NamedServerRow const& s) {
  return write("create_named_server", [&](Connection& c) -> Result<NamedServerRow> {
    auto st = c.prepare("INSERT INTO named_servers (" NBHUB_NAMED_SERVER_COLUMNS ") VALUES (?, ?, ?, ?, ?)");
    if (!st) return st.error();
    auto options = to_db_json(s.user_options);
    st->bind(1, s.user_id)
        .bind(2, std::string_view(s.name))
        .bind(3, std::string_view(s.display_name))
        .bind(4, std::string_view(options))
        .bind(5, to_db_time(clock_.now()));
    auto r = st->run();
    if (!r && r.error().code == Errc::conflict) return named_server_exists(s.name);
    if (!r && r.error().code == Errc::not_found) return no_user_with_id(s.user_id);
    if (!r) return r.error();
    auto row = named_server_by_key(c, s.user_id, s.name);
    if (!row) return row.error();
    if (!*row) return make_error(Errc::internal, "named server '" + s.name + "' vanished after its insert");
    return std::move(**row);
  });
}

template <class Derived, class Connection, class Statement>
Result<std::optional<NamedServerRow>> SqlStoreQueries<Derived, Connection, Statement>::get_named_server(
    std::int64_t user_id, std::string_view name) {
  return read("get_named_server", [&](Connection& c) { return named_server_by_key(c, user_id, name); });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<NamedServerRow>> SqlStoreQueries<Derived, Connection, Statement>::list_named_servers(
    std::int64_t user_id) {
  return read("list_named_servers", [&](Connection& c) -> Result<std::vector<NamedServerRow>> {
    auto st = c.prepare("SELECT " NBHUB_NAMED_SERVER_COLUMNS " FROM named_servers WHERE user_id = ? ORDER BY name");
    if (!st) return st.error();
    st->bind(1, user_id);
    std::vector<NamedServerRow> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return out;
      auto s = named_server_from(*st);
      if (!s) return s.error();
      out.push_back(std::move(*s));
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<NamedServerRow> SqlStoreQueries<Derived, Connection, Statement>::update_named_server(
    std::int64_t user_id, std::string_view name, NamedServerRow const& s) {
  return write("update_named_server", [&](Connection& c) -> Result<NamedServerRow> {
    if (s.name != name) {
      auto taken = named_server_by_key(c, user_id, s.name);
      if (!taken) return taken.error();
      if (*taken) return named_server_exists(s.name);
    }
    auto options = to_db_json(s.user_options);
    auto n = run_counting(c,
                          "UPDATE named_servers SET name = ?, display_name = ?, user_options = ? "
                          "WHERE user_id = ? AND name = ?",
                          [&](Statement& st) {
                            st.bind(1, std::string_view(s.name))
                                .bind(2, std::string_view(s.display_name))
                                .bind(3, std::string_view(options))
                                .bind(4, user_id)
                                .bind(5, name);
                          });
    if (!n && n.error().code == Errc::conflict) return named_server_exists(s.name);
    if (!n) return n.error();
    if (*n == 0) return make_error(Errc::not_found, "no named server '" + std::string(name) + "' is defined");
    auto row = named_server_by_key(c, user_id, s.name);
    if (!row) return row.error();
    if (!*row) return make_error(Errc::internal, "named server '" + s.name + "' vanished after its update");
    return std::move(**row);
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_named_server(std::int64_t user_id,
                                                                                  std::string_view name) {
  return write("delete_named_server", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM named_servers WHERE user_id = ? AND name = ?",
                          [&](Statement& st) { st.bind(1, user_id).bind(2, name); });
    if (!n) return n.error();
    return *n > 0;
  });
}

}  // namespace nbhub::store
