// SqlStoreQueries: users' servers, as recorded for adoption after a restart.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/row_checks.hpp"
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

namespace {

#define NBHUB_SERVER_COLUMNS \
  "s.id, s.user_id, s.name, s.url, s.state, s.started, s.last_activity, s.pending"

// Reads NBHUB_SERVER_COLUMNS starting at column 0.
Result<ServerRow> server_from(auto const& st) {
  ServerRow s;
  s.id = st.int64(0);
  s.user_id = st.int64(1);
  s.name = st.text(2);
  s.url = st.text(3);
  auto state = object_from_db_json(st.text(4));
  // The message leaves the state out: it may hold a container's credentials.
  if (!state)
    return make_error(Errc::internal, "the spawner state of server " + std::to_string(s.id) +
                                          " is not a JSON object; was the database edited by "
                                          "hand?");
  s.state = std::move(*state);
  s.started = optional_time(st, 5);
  s.last_activity = optional_time(st, 6);
  s.pending = st.text(7);
  return s;
}

std::string describe(std::string_view name) {
  return name.empty() ? std::string("default server") : "server named '" + std::string(name) + "'";
}

// not_found naming the user by name when it exists, so an operator can tell "no such user"
// from "no such server".
Error no_server(auto& c, std::int64_t user_id, std::string_view name) {
  auto st = c.prepare("SELECT name FROM users WHERE id = ?");
  if (!st) return st.error();
  auto row = st->bind(1, user_id).step();
  if (!row) return row.error();
  if (!*row) return no_user_with_id(user_id);
  return make_error(Errc::not_found, "user '" + st->text(0) + "' has no " + describe(name));
}

Result<ServerRow> server_by_key(auto& c, std::int64_t user_id, std::string_view name) {
  {
    auto st = c.prepare("SELECT " NBHUB_SERVER_COLUMNS
                        " FROM servers s WHERE s.user_id = ? AND s.name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, user_id).bind(2, name).step();
    if (!row) return row.error();
    if (*row) return server_from(*st);
  }
  return no_server(c, user_id, name);
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<ServerRow> SqlStoreQueries<Derived, Connection, Statement>::upsert_server(
    ServerRow const& server) {
  if (auto r = check_server_row(server); !r) return r.error();
  return write("upsert_server", [&](Connection& c) -> Result<ServerRow> {
    // last_activity: the newer of the stored and the given value, spelled with CASE because
    // MAX()/GREATEST() differ between the dialects (and SQLite's MAX(x, NULL) is NULL).
    auto st = c.prepare(
        "INSERT INTO servers (user_id, name, url, state, started, last_activity, pending) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id, name) DO UPDATE SET url = excluded.url, "
        "state = excluded.state, started = excluded.started, pending = excluded.pending, "
        "last_activity = CASE WHEN excluded.last_activity IS NULL THEN servers.last_activity "
        "WHEN servers.last_activity IS NULL OR servers.last_activity < excluded.last_activity "
        "THEN excluded.last_activity ELSE servers.last_activity END");
    if (!st) return st.error();
    auto state = to_db_json(server.state);
    st->bind(1, server.user_id)
        .bind(2, std::string_view(server.name))
        .bind(3, std::string_view(server.url))
        .bind(4, std::string_view(state))
        .bind(7, std::string_view(server.pending));
    bind_or_null(*st, 5, server.started);
    bind_or_null(*st, 6, server.last_activity);
    auto r = st->run();
    if (!r && r.error().code == Errc::not_found) return no_user_with_id(server.user_id);
    if (!r) return r.error();
    return server_by_key(c, server.user_id, server.name);
  });
}

template <class Derived, class Connection, class Statement>
Result<ServerRow> SqlStoreQueries<Derived, Connection, Statement>::get_server(
    std::int64_t user_id, std::string_view name) {
  return read("get_server", [&](Connection& c) { return server_by_key(c, user_id, name); });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<OwnedServer>> SqlStoreQueries<Derived, Connection, Statement>::list_servers() {
  return read("list_servers", [&](Connection& c) -> Result<std::vector<OwnedServer>> {
    auto st = c.prepare("SELECT " NBHUB_SERVER_COLUMNS
                        ", u.name FROM servers s JOIN users u ON u.id = s.user_id "
                        "ORDER BY u.name, s.name");
    if (!st) return st.error();
    std::vector<OwnedServer> servers;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return servers;
      auto s = server_from(*st);
      if (!s) return s.error();
      servers.push_back({st->text(8), std::move(*s)});
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<ServerRow>>
SqlStoreQueries<Derived, Connection, Statement>::list_servers_for_user(std::int64_t user_id) {
  return read("list_servers_for_user", [&](Connection& c) -> Result<std::vector<ServerRow>> {
    auto st = c.prepare("SELECT " NBHUB_SERVER_COLUMNS
                        " FROM servers s WHERE s.user_id = ? ORDER BY s.name");
    if (!st) return st.error();
    st->bind(1, user_id);
    std::vector<ServerRow> servers;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return servers;
      auto s = server_from(*st);
      if (!s) return s.error();
      servers.push_back(std::move(*s));
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_server(std::int64_t user_id,
                                                                            std::string_view name) {
  return write("delete_server", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM servers WHERE user_id = ? AND name = ?",
                          [&](Statement& st) { st.bind(1, user_id).bind(2, name); });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::touch_server_activity(
    std::int64_t user_id, std::string_view name, Time when) {
  return write("touch_server_activity", [&](Connection& c) -> Result<void> {
    auto t = to_db_time(when);
    {
      auto st = c.prepare("SELECT 1 FROM servers WHERE user_id = ? AND name = ?");
      if (!st) return st.error();
      auto row = st->bind(1, user_id).bind(2, name).step();
      if (!row) return row.error();
      if (!*row) return no_server(c, user_id, name);
    }
    // Conditions rather than MAX()/GREATEST(), which differ between the dialects.
    auto n = run_counting(
        c,
        "UPDATE servers SET last_activity = ? WHERE user_id = ? AND name = ? "
        "AND (last_activity IS NULL OR last_activity < ?)",
        [&](Statement& st) { st.bind(1, t).bind(2, user_id).bind(3, name).bind(4, t); });
    if (!n) return n.error();
    auto u = run_counting(c,
                          "UPDATE users SET last_activity = ? "
                          "WHERE id = ? AND (last_activity IS NULL OR last_activity < ?)",
                          [&](Statement& st) { st.bind(1, t).bind(2, user_id).bind(3, t); });
    if (!u) return u.error();
    return {};
  });
}

#undef NBHUB_SERVER_COLUMNS

}  // namespace nbhub::store
