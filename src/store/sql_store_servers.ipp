// SqlStoreQueries: users' servers, as recorded for adoption after a restart.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/row_checks.hpp"
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

namespace {

#define NBHUB_SERVER_COLUMNS                                                              \
  "s.id, s.user_id, s.name, s.url, s.state, s.started, s.last_activity, s.pending, s.driver, " \
  "s.lease_until, s.version, s.last_error"
#define NBHUB_SERVER_COLUMN_COUNT 12

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
  s.driver = st.text(8);
  s.lease_until = optional_time(st, 9);
  s.version = st.int64(10);
  s.last_error = st.text(11);
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

Result<std::optional<ServerRow>> server_by_id(auto& c, std::int64_t id) {
  auto st = c.prepare("SELECT " NBHUB_SERVER_COLUMNS " FROM servers s WHERE s.id = ?");
  if (!st) return st.error();
  auto row = st->bind(1, id).step();
  if (!row) return row.error();
  if (!*row) return std::optional<ServerRow>{};
  auto s = server_from(*st);
  if (!s) return s.error();
  return std::optional<ServerRow>{std::move(*s)};
}

Error server_gone(std::int64_t id) {
  return make_error(Errc::conflict, "server " + std::to_string(id) +
                                        " was stopped or removed meanwhile (by another replica?)");
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
      servers.push_back({st->text(NBHUB_SERVER_COLUMN_COUNT), std::move(*s)});
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

// --- the state machine (migration 8) --------------------------------------------------------

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::notify_servers(Connection& c,
                                                                            std::string_view driver) {
  if (Derived::kDialect.notify.empty()) return {};
  auto st = c.prepare(Derived::kDialect.notify);
  if (!st) return st.error();
  st->bind(1, kServerChangesChannel).bind(2, driver);
  if (auto r = st->step(); !r) return r.error();
  return {};
}

template <class Derived, class Connection, class Statement>
Result<ServerClaim> SqlStoreQueries<Derived, Connection, Statement>::claim_server_start(
    std::int64_t user_id, std::string_view name, std::string_view driver, Time lease_until) {
  if (driver.empty()) return make_error(Errc::bad_request, "a server start needs the id of its replica");
  return write("claim_server_start", [&](Connection& c) -> Result<ServerClaim> {
    // One statement decides, as take_lease: inserted, or updated only from the stopped phase.
    // Under PostgreSQL's READ COMMITTED a concurrent claim waits for ours, then re-checks the
    // WHERE against our committed row and loses, so a server is never started twice.
    auto n = run_counting(
        c,
        "INSERT INTO servers (user_id, name, url, state, pending, driver, lease_until, version, "
        "last_error) VALUES (?, ?, '', '{}', 'spawn', ?, ?, 1, '') "
        "ON CONFLICT (user_id, name) DO UPDATE SET url = '', state = '{}', started = NULL, "
        "pending = 'spawn', driver = excluded.driver, lease_until = excluded.lease_until, "
        "last_error = '', version = servers.version + 1 "
        "WHERE servers.pending = '' AND servers.url = ''",
        [&](Statement& st) {
          st.bind(1, user_id).bind(2, name).bind(3, driver).bind(4, to_db_time(lease_until));
        });
    if (!n && n.error().code == Errc::not_found) return no_user_with_id(user_id);
    if (!n) return n.error();
    auto row = server_by_key(c, user_id, name);
    if (!row) return row.error();
    ServerClaim claim{*n > 0, std::move(*row)};
    if (claim.won) {
      auto d = run_counting(c, "DELETE FROM server_events WHERE server_id = ?",
                            [&](Statement& st) { st.bind(1, claim.row.id); });
      if (!d) return d.error();
      if (auto r = notify_servers(c, driver); !r) return r.error();
    }
    return claim;
  });
}

template <class Derived, class Connection, class Statement>
Result<ServerRow> SqlStoreQueries<Derived, Connection, Statement>::advance_server(
    ServerRow const& next, std::int64_t expected_version) {
  if (auto r = check_server_row(next); !r) return r.error();
  return write("advance_server", [&](Connection& c) -> Result<ServerRow> {
    auto state = to_db_json(next.state);
    auto n = run_counting(
        c,
        "UPDATE servers SET url = ?, state = ?, started = ?, pending = ?, driver = ?, "
        "lease_until = ?, last_error = ?, version = version + 1 WHERE id = ? AND version = ?",
        [&](Statement& st) {
          st.bind(1, std::string_view(next.url)).bind(2, std::string_view(state));
          bind_or_null(st, 3, next.started);
          st.bind(4, std::string_view(next.pending)).bind(5, std::string_view(next.driver));
          bind_or_null(st, 6, next.lease_until);
          st.bind(7, std::string_view(next.last_error)).bind(8, next.id).bind(9, expected_version);
        });
    if (!n) return n.error();
    if (*n == 0) return server_gone(next.id);
    auto row = server_by_id(c, next.id);
    if (!row) return row.error();
    if (!*row) return server_gone(next.id);
    if (auto r = notify_servers(c, next.driver); !r) return r.error();
    return std::move(**row);
  });
}

template <class Derived, class Connection, class Statement>
Result<std::optional<ServerRow>> SqlStoreQueries<Derived, Connection, Statement>::take_over_server(
    std::int64_t id, std::int64_t expected_version, std::string_view driver, Time now, Time lease_until) {
  return write("take_over_server", [&](Connection& c) -> Result<std::optional<ServerRow>> {
    auto n = run_counting(
        c,
        "UPDATE servers SET driver = ?, lease_until = ?, version = version + 1 "
        "WHERE id = ? AND version = ? AND pending <> '' AND (lease_until IS NULL OR lease_until <= ?)",
        [&](Statement& st) {
          st.bind(1, driver).bind(2, to_db_time(lease_until)).bind(3, id).bind(4, expected_version)
              .bind(5, to_db_time(now));
        });
    if (!n) return n.error();
    if (*n == 0) return std::optional<ServerRow>{};
    return server_by_id(c, id);
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::renew_server_lease(
    std::int64_t id, std::string_view driver, Time lease_until) {
  return write("renew_server_lease", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c,
                          "UPDATE servers SET lease_until = ? WHERE id = ? AND driver = ? AND pending <> ''",
                          [&](Statement& st) { st.bind(1, to_db_time(lease_until)).bind(2, id).bind(3, driver); });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::finish_server_stop(
    std::int64_t id, std::int64_t expected_version, std::string_view driver) {
  return write("finish_server_stop", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM servers WHERE id = ? AND version = ?",
                          [&](Statement& st) { st.bind(1, id).bind(2, expected_version); });
    if (!n) return n.error();
    if (*n > 0)
      if (auto r = notify_servers(c, driver); !r) return r.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::append_server_event(
    std::int64_t server_id, boost::json::object const& event, std::size_t keep, std::string_view driver) {
  return write("append_server_event", [&](Connection& c) -> Result<std::int64_t> {
    {
      auto st = c.prepare("SELECT 1 FROM servers WHERE id = ?");
      if (!st) return st.error();
      auto row = st->bind(1, server_id).step();
      if (!row) return row.error();
      if (!*row) return make_error(Errc::not_found, "no server with id " + std::to_string(server_id));
    }
    std::int64_t seq = 0;
    {
      auto st = c.prepare("SELECT COALESCE(MAX(seq), 0) FROM server_events WHERE server_id = ?");
      if (!st) return st.error();
      auto row = st->bind(1, server_id).step();
      if (!row) return row.error();
      seq = st->int64(0) + 1;
    }
    auto text = to_db_json(event);
    auto n = run_counting(c, "INSERT INTO server_events (server_id, seq, event) VALUES (?, ?, ?)",
                          [&](Statement& st) { st.bind(1, server_id).bind(2, seq).bind(3, std::string_view(text)); });
    if (!n) return n.error();
    auto const oldest_kept = seq - static_cast<std::int64_t>(std::max<std::size_t>(keep, 1)) + 1;
    auto d = run_counting(c, "DELETE FROM server_events WHERE server_id = ? AND seq < ?",
                          [&](Statement& st) { st.bind(1, server_id).bind(2, oldest_kept); });
    if (!d) return d.error();
    if (auto r = notify_servers(c, driver); !r) return r.error();
    return seq;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<ServerEvent>> SqlStoreQueries<Derived, Connection, Statement>::list_server_events(
    std::int64_t server_id, std::int64_t after_seq) {
  return read("list_server_events", [&](Connection& c) -> Result<std::vector<ServerEvent>> {
    auto st = c.prepare("SELECT seq, event FROM server_events WHERE server_id = ? AND seq > ? ORDER BY seq");
    if (!st) return st.error();
    st->bind(1, server_id).bind(2, after_seq);
    std::vector<ServerEvent> events;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return events;
      auto e = object_from_db_json(st->text(1));
      if (!e)
        return make_error(Errc::internal, "a progress event of server " + std::to_string(server_id) +
                                              " is not a JSON object; was the database edited by hand?");
      events.push_back({st->int64(0), std::move(*e)});
    }
  });
}

#undef NBHUB_SERVER_COLUMNS
#undef NBHUB_SERVER_COLUMN_COUNT

}  // namespace nbhub::store
