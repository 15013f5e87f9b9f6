// SqlStoreQueries: login sessions.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

namespace {

SessionRow session_from(auto const& st) {
  SessionRow s;
  s.id_hash = st.text(0);
  s.user_id = st.int64(1);
  s.provider = st.text(2);
  s.created = from_db_time(st.int64(3));
  s.expires = from_db_time(st.int64(4));
  s.last_seen = from_db_time(st.int64(5));
  s.id_token_hint_encrypted = st.optional_blob(6);
  return s;
}

// Session messages never repeat the id hash: it is not the cookie, but it is the key that
// finds a live session, so it stays out of logs.
Error no_session() {
  return make_error(Errc::not_found, "no such login session, or it has expired");
}

Result<void> insert_session(auto& c, SessionRow const& s) {
  auto st = c.prepare(
      "INSERT INTO sessions (id_hash, user_id, provider, created, expires, last_seen, "
      "id_token_hint_encrypted) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, std::string_view(s.id_hash))
      .bind(2, s.user_id)
      .bind(3, std::string_view(s.provider))
      .bind(4, to_db_time(s.created))
      .bind(5, to_db_time(s.expires))
      .bind(6, to_db_time(s.last_seen));
  if (s.id_token_hint_encrypted)
    st->bind_blob(7, *s.id_token_hint_encrypted);
  else
    st->bind_null(7);
  auto r = st->run();
  if (!r && r.error().code == Errc::conflict)
    return make_error(Errc::conflict, "a login session with this id already exists");
  if (!r && r.error().code == Errc::not_found)
    return make_error(Errc::not_found, "no user with id " + std::to_string(s.user_id));
  return r;
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::create_session(SessionRow const& s) {
  if (s.id_hash.empty())
    return make_error(Errc::bad_request, "a session id hash must not be empty");
  return write("create_session", [&](Connection& c) { return insert_session(c, s); });
}

template <class Derived, class Connection, class Statement>
Result<SessionRow> SqlStoreQueries<Derived, Connection, Statement>::get_session(
    std::string_view id_hash) {
  return read("get_session", [&](Connection& c) -> Result<SessionRow> {
    auto st = c.prepare(
        "SELECT id_hash, user_id, provider, created, expires, last_seen, "
        "id_token_hint_encrypted FROM sessions WHERE id_hash = ? AND expires > ?");
    if (!st) return st.error();
    auto row = st->bind(1, id_hash).bind(2, to_db_time(clock_.now())).step();
    if (!row) return row.error();
    if (!*row) return no_session();
    return session_from(*st);
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::touch_session(
    std::string_view id_hash, Time last_seen) {
  return write("touch_session", [&](Connection& c) -> Result<void> {
    auto n =
        run_counting(c, "UPDATE sessions SET last_seen = ? WHERE id_hash = ?",
                     [&](Statement& st) { st.bind(1, to_db_time(last_seen)).bind(2, id_hash); });
    if (!n) return n.error();
    if (*n == 0) return no_session();
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_session(
    std::string_view id_hash) {
  return write("delete_session", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM sessions WHERE id_hash = ?",
                          [&](Statement& st) { st.bind(1, id_hash); });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::delete_sessions_for_user(
    std::int64_t user_id) {
  return write("delete_sessions_for_user", [&](Connection& c) {
    return run_counting(c, "DELETE FROM sessions WHERE user_id = ?",
                        [&](Statement& st) { st.bind(1, user_id); });
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::purge_expired_sessions(
    Time now) {
  return write("purge_expired_sessions", [&](Connection& c) {
    return run_counting(c, "DELETE FROM sessions WHERE expires <= ?",
                        [&](Statement& st) { st.bind(1, to_db_time(now)); });
  });
}

}  // namespace nbhub::store
