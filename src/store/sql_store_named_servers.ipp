// SqlStoreQueries: named servers defined before they run (JupyterHub 6.0's PUT; migration 6),
// and every server's last choices (migration 9), which a definition follows.
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
    if (s.name != name) {
      // The last choices follow the rename; a stale row of the new name (a server of that name
      // that ran and was not defined) gives way first.
      auto moved = run_counting(c, "DELETE FROM server_choices WHERE user_id = ? AND name = ?",
                                [&](Statement& st) { st.bind(1, user_id).bind(2, std::string_view(s.name)); });
      if (moved)
        moved = run_counting(c, "UPDATE server_choices SET name = ? WHERE user_id = ? AND name = ?",
                             [&](Statement& st) { st.bind(1, std::string_view(s.name)).bind(2, user_id).bind(3, name); });
      if (!moved) return moved.error();
    }
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
    auto choices = run_counting(c, "DELETE FROM server_choices WHERE user_id = ? AND name = ?",
                                [&](Statement& st) { st.bind(1, user_id).bind(2, name); });
    if (!choices) return choices.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::save_server_choices(ServerChoicesRow const& choices) {
  return write("save_server_choices", [&](Connection& c) -> Result<void> {
    auto options = to_db_json(choices.user_options);
    auto n = run_counting(c,
                          "INSERT INTO server_choices (user_id, name, display_name, user_options, updated) "
                          "VALUES (?, ?, ?, ?, ?) "
                          "ON CONFLICT (user_id, name) DO UPDATE SET display_name = excluded.display_name, "
                          "user_options = excluded.user_options, updated = excluded.updated",
                          [&](Statement& st) {
                            st.bind(1, choices.user_id)
                                .bind(2, std::string_view(choices.name))
                                .bind(3, std::string_view(choices.display_name))
                                .bind(4, std::string_view(options))
                                .bind(5, to_db_time(clock_.now()));
                          });
    if (!n && n.error().code == Errc::not_found) return no_user_with_id(choices.user_id);
    if (!n) return n.error();
    // A defined server keeps what its last start asked for, as JupyterHub's orm.Spawner does.
    bool const labelled = !choices.display_name.empty();
    auto defined = run_counting(c,
                                labelled ? "UPDATE named_servers SET user_options = ?, display_name = ? "
                                           "WHERE user_id = ? AND name = ?"
                                         : "UPDATE named_servers SET user_options = ? "
                                           "WHERE user_id = ? AND name = ?",
                                [&](Statement& st) {
                                  st.bind(1, std::string_view(options));
                                  if (labelled) st.bind(2, std::string_view(choices.display_name));
                                  int const key = labelled ? 3 : 2;
                                  st.bind(key, choices.user_id).bind(key + 1, std::string_view(choices.name));
                                });
    if (!defined) return defined.error();
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<std::optional<ServerChoicesRow>> SqlStoreQueries<Derived, Connection, Statement>::get_server_choices(
    std::int64_t user_id, std::string_view name) {
  return read("get_server_choices", [&](Connection& c) -> Result<std::optional<ServerChoicesRow>> {
    auto st = c.prepare("SELECT display_name, user_options, updated FROM server_choices WHERE user_id = ? AND name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, user_id).bind(2, name).step();
    if (!row) return row.error();
    if (!*row) return std::optional<ServerChoicesRow>{};
    ServerChoicesRow out{.user_id = user_id, .name = std::string(name), .display_name = st->text(0)};
    auto options = object_from_db_json(st->text(1));
    if (!options)
      return make_error(Errc::internal, "the saved user_options of server '" + out.name +
                                            "' are not a JSON object; was the database edited by hand?");
    out.user_options = std::move(*options);
    out.updated = from_db_time(st->int64(2));
    return std::optional<ServerChoicesRow>{std::move(out)};
  });
}

}  // namespace nbhub::store
