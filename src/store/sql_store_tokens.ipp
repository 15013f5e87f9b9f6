// SqlStoreQueries: API tokens.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/row_checks.hpp"
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

namespace {

#define NBHUB_TOKEN_COLUMNS                                                             \
  "id, prefix, hash, user_id, service_name, server_name, kind, scopes, note, created, " \
  "expires_at, last_activity, oauth_client_id, session_id_hash"

// Unexpired: expires_at IS NULL means never. The second parameter is now.
#define NBHUB_TOKEN_UNEXPIRED "(expires_at IS NULL OR expires_at > ?)"

Result<TokenRow> token_from(auto const& st) {
  TokenRow t;
  t.id = st.int64(0);
  t.prefix = st.text(1);
  t.hash = st.text(2);
  t.user_id = st.optional_int64(3);
  t.service_name = optional_text(st, 4);
  t.server_name = optional_text(st, 5);
  t.kind = st.text(6);
  auto scopes = strings_from_db_json(st.text(7));
  if (!scopes)
    return make_error(Errc::internal, "the scopes of API token " + std::to_string(t.id) +
                                          " are not a JSON list of strings; was the database "
                                          "edited by hand?");
  t.scopes = std::move(*scopes);
  t.note = st.text(8);
  t.created = from_db_time(st.int64(9));
  t.expires_at = optional_time(st, 10);
  t.last_activity = optional_time(st, 11);
  t.oauth_client_id = optional_text(st, 12);
  t.session_id_hash = optional_text(st, 13);
  return t;
}

// Token messages never repeat the hash or the prefix (rows.hpp); the id is public ("a42").
Error no_token() { return make_error(Errc::not_found, "no such API token, or it has expired"); }

Error no_token_id(std::int64_t id) {
  return make_error(Errc::not_found, "no API token with id " + std::to_string(id));
}

Result<TokenRow> token_by_id(auto& c, std::int64_t id) {
  auto st = c.prepare("SELECT " NBHUB_TOKEN_COLUMNS " FROM api_tokens WHERE id = ?");
  if (!st) return st.error();
  auto row = st->bind(1, id).step();
  if (!row) return row.error();
  if (!*row) return no_token_id(id);
  return token_from(*st);
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<TokenRow> SqlStoreQueries<Derived, Connection, Statement>::create_token(TokenRow const& t) {
  if (auto r = check_token_row(t); !r) return r.error();
  return write("create_token", [&](Connection& c) { return insert_token(c, t); });
}

template <class Derived, class Connection, class Statement>
Result<TokenRow> SqlStoreQueries<Derived, Connection, Statement>::create_imported_token(
    TokenRow const& t, std::string_view foreign_hash) {
  if (auto r = check_token_row(t); !r) return r.error();
  if (foreign_hash.empty())
    return make_error(Errc::bad_request, "an imported token needs its JupyterHub hash");
  return write("create_imported_token", [&](Connection& c) -> Result<TokenRow> {
    auto row = insert_token(c, t);
    if (!row) return row.error();
    auto n = run_counting(c,
                          "INSERT INTO imported_token_hashes (token_id, prefix, foreign_hash) "
                          "VALUES (?, ?, ?)",
                          [&](Statement& st) {
                            st.bind(1, row->id)
                                .bind(2, std::string_view(t.prefix))
                                .bind(3, foreign_hash);
                          });
    if (!n) return n.error();
    return row;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<std::pair<TokenRow, std::string>>>
SqlStoreQueries<Derived, Connection, Statement>::find_imported_tokens(std::string_view prefix) {
  using Out = std::vector<std::pair<TokenRow, std::string>>;
  return read("find_imported_tokens", [&](Connection& c) -> Result<Out> {
    auto st = c.prepare(
        "SELECT t.id, t.prefix, t.hash, t.user_id, t.service_name, t.server_name, t.kind, "
        "t.scopes, t.note, t.created, t.expires_at, t.last_activity, t.oauth_client_id, "
        "t.session_id_hash, i.foreign_hash FROM imported_token_hashes i "
        "JOIN api_tokens t ON t.id = i.token_id WHERE i.prefix = ? AND "
        "(t.expires_at IS NULL OR t.expires_at > ?) ORDER BY t.id");
    if (!st) return st.error();
    st->bind(1, prefix).bind(2, to_db_time(clock_.now()));
    Out out;
    // A prefix is 4 characters of a random token: more than a few matches means damage.
    for (int i = 0; i < 64; ++i) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return out;
      auto t = token_from(*st);
      if (!t) return t.error();
      out.emplace_back(std::move(*t), st->text(14));
    }
    return out;
  });
}

template <class Derived, class Connection, class Statement>
Result<TokenRow> SqlStoreQueries<Derived, Connection, Statement>::insert_token(Connection& c,
                                                                              TokenRow const& t) {
  auto st = c.prepare(
      "INSERT INTO api_tokens (prefix, hash, user_id, service_name, server_name, kind, scopes, "
      "note, created, expires_at, last_activity, oauth_client_id, session_id_hash) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  if (!st) return st.error();
  auto scopes = to_db_json(t.scopes);
  st->bind(1, std::string_view(t.prefix))
      .bind(2, std::string_view(t.hash))
      .bind(6, std::string_view(t.kind))
      .bind(7, std::string_view(scopes))
      .bind(8, std::string_view(t.note))
      .bind(9, to_db_time(t.created));
  bind_or_null(*st, 3, t.user_id);
  bind_or_null(*st, 4, t.service_name);
  bind_or_null(*st, 5, t.server_name);
  bind_or_null(*st, 10, t.expires_at);
  bind_or_null(*st, 11, t.last_activity);
  bind_or_null(*st, 12, t.oauth_client_id);
  bind_or_null(*st, 13, t.session_id_hash);
  auto row = st->step();
  if (!row && row.error().code == Errc::conflict)
    return make_error(Errc::conflict, "an API token with this hash already exists");
  if (!row && row.error().code == Errc::not_found)
    return Derived::missing_parent(
        c, row.error(), t.user_id,
        t.oauth_client_id ? std::optional<std::string_view>(*t.oauth_client_id) : std::nullopt);
  if (!row) return row.error();
  if (!*row) return make_error(Errc::internal, "INSERT ... RETURNING returned no row");
  return token_by_id(c, st->int64(0));
}

template <class Derived, class Connection, class Statement>
Result<TokenRow> SqlStoreQueries<Derived, Connection, Statement>::find_token(
    std::string_view hash) {
  return read("find_token", [&](Connection& c) -> Result<TokenRow> {
    auto st = c.prepare("SELECT " NBHUB_TOKEN_COLUMNS
                        " FROM api_tokens WHERE hash = ? AND " NBHUB_TOKEN_UNEXPIRED);
    if (!st) return st.error();
    auto row = st->bind(1, hash).bind(2, to_db_time(clock_.now())).step();
    if (!row) return row.error();
    if (!*row) return no_token();
    return token_from(*st);
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<TokenRow>> SqlStoreQueries<Derived, Connection, Statement>::list_tokens(
    std::int64_t user_id) {
  return read("list_tokens", [&](Connection& c) -> Result<std::vector<TokenRow>> {
    auto st =
        c.prepare("SELECT " NBHUB_TOKEN_COLUMNS
                  " FROM api_tokens WHERE user_id = ? AND " NBHUB_TOKEN_UNEXPIRED " ORDER BY id");
    if (!st) return st.error();
    st->bind(1, user_id).bind(2, to_db_time(clock_.now()));
    std::vector<TokenRow> tokens;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return tokens;
      auto t = token_from(*st);
      if (!t) return t.error();
      tokens.push_back(std::move(*t));
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_token(std::int64_t id) {
  return write("delete_token", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM api_tokens WHERE id = ?",
                          [&](Statement& st) { st.bind(1, id); });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::delete_tokens_for_server(
    std::int64_t user_id, std::string_view server_name) {
  return write("delete_tokens_for_server", [&](Connection& c) {
    return run_counting(c, "DELETE FROM api_tokens WHERE user_id = ? AND server_name = ?",
                        [&](Statement& st) { st.bind(1, user_id).bind(2, server_name); });
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::delete_tokens_for_session(
    std::string_view session_id_hash) {
  return write("delete_tokens_for_session", [&](Connection& c) -> Result<std::int64_t> {
    auto codes = run_counting(c, "DELETE FROM oauth_codes WHERE session_id_hash = ?",
                              [&](Statement& st) { st.bind(1, session_id_hash); });
    if (!codes) return codes.error();
    return run_counting(c, "DELETE FROM api_tokens WHERE session_id_hash = ?",
                        [&](Statement& st) { st.bind(1, session_id_hash); });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::touch_token(std::int64_t id,
                                                                          Time when) {
  return write("touch_token", [&](Connection& c) -> Result<void> {
    auto t = to_db_time(when);
    // A condition rather than MAX()/GREATEST(), which differ between the dialects.
    auto n = run_counting(c,
                          "UPDATE api_tokens SET last_activity = ? "
                          "WHERE id = ? AND (last_activity IS NULL OR last_activity < ?)",
                          [&](Statement& st) { st.bind(1, t).bind(2, id).bind(3, t); });
    if (!n) return n.error();
    if (*n > 0) return {};
    // Nothing changed: either the token is unknown or its recorded use is newer.
    auto found = row_exists(c, "SELECT 1 FROM api_tokens WHERE id = ?", id);
    if (!found) return found.error();
    if (!*found) return no_token_id(id);
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::purge_expired_tokens(
    Time now) {
  return write("purge_expired_tokens", [&](Connection& c) {
    return run_counting(c, "DELETE FROM api_tokens WHERE expires_at <= ?",
                        [&](Statement& st) { st.bind(1, to_db_time(now)); });
  });
}

#undef NBHUB_TOKEN_COLUMNS
#undef NBHUB_TOKEN_UNEXPIRED

}  // namespace nbhub::store
