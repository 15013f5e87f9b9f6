// SqlStoreQueries: the OAuth provider's clients and authorization codes.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/row_checks.hpp"
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

namespace nbhub::store {

namespace {

#define NBHUB_CLIENT_COLUMNS                                                                  \
  "client_id, description, redirect_uri, secret_hash, user_id, server_name, allowed_scopes, " \
  "created"

#define NBHUB_CODE_COLUMNS \
  "code_hash, client_id, user_id, redirect_uri, scopes, session_id_hash, created, expires"

Result<OAuthClientRow> client_from(auto const& st) {
  OAuthClientRow c;
  c.client_id = st.text(0);
  c.description = st.text(1);
  c.redirect_uri = st.text(2);
  c.secret_hash = st.text(3);
  c.user_id = st.optional_int64(4);
  c.server_name = optional_text(st, 5);
  auto scopes = strings_from_db_json(st.text(6));
  if (!scopes)
    return make_error(Errc::internal, "the allowed scopes of OAuth client '" + c.client_id +
                                          "' are not a JSON list of strings; was the database "
                                          "edited by hand?");
  c.allowed_scopes = std::move(*scopes);
  c.created = from_db_time(st.int64(7));
  return c;
}

// Code messages never repeat the hash: until it expires it is one step from a token.
Result<OAuthCodeRow> code_from(auto const& st) {
  OAuthCodeRow c;
  c.code_hash = st.text(0);
  c.client_id = st.text(1);
  c.user_id = st.int64(2);
  c.redirect_uri = st.text(3);
  auto scopes = strings_from_db_json(st.text(4));
  if (!scopes)
    return make_error(Errc::internal, "the scopes of an OAuth code for client '" + c.client_id +
                                          "' are not a JSON list of strings; was the database "
                                          "edited by hand?");
  c.scopes = std::move(*scopes);
  c.session_id_hash = optional_text(st, 5);
  c.created = from_db_time(st.int64(6));
  c.expires = from_db_time(st.int64(7));
  return c;
}

Result<OAuthClientRow> client_by_id(auto& c, std::string_view client_id) {
  auto st = c.prepare("SELECT " NBHUB_CLIENT_COLUMNS " FROM oauth_clients WHERE client_id = ?");
  if (!st) return st.error();
  auto row = st->bind(1, client_id).step();
  if (!row) return row.error();
  if (!*row) return no_oauth_client(client_id);
  return client_from(*st);
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<OAuthClientRow> SqlStoreQueries<Derived, Connection, Statement>::upsert_oauth_client(
    OAuthClientRow const& client) {
  if (auto r = check_oauth_client_row(client); !r) return r.error();
  return write("upsert_oauth_client", [&](Connection& c) -> Result<OAuthClientRow> {
    // ON CONFLICT DO UPDATE, never INSERT OR REPLACE: a replace deletes the old row first,
    // and the cascade would take every token issued to the client with it.
    auto st = c.prepare("INSERT INTO oauth_clients (" NBHUB_CLIENT_COLUMNS
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (client_id) DO UPDATE SET description = excluded.description, "
                        "redirect_uri = excluded.redirect_uri, secret_hash = excluded.secret_hash, "
                        "user_id = excluded.user_id, server_name = excluded.server_name, "
                        "allowed_scopes = excluded.allowed_scopes");
    if (!st) return st.error();
    auto scopes = to_db_json(client.allowed_scopes);
    st->bind(1, std::string_view(client.client_id))
        .bind(2, std::string_view(client.description))
        .bind(3, std::string_view(client.redirect_uri))
        .bind(4, std::string_view(client.secret_hash))
        .bind(7, std::string_view(scopes))
        .bind(8, to_db_time(client.created));
    bind_or_null(*st, 5, client.user_id);
    bind_or_null(*st, 6, client.server_name);
    auto r = st->run();
    if (!r && r.error().code == Errc::not_found)
      return Derived::missing_parent(c, r.error(), client.user_id, std::nullopt);
    if (!r) return r.error();
    return client_by_id(c, client.client_id);
  });
}

template <class Derived, class Connection, class Statement>
Result<OAuthClientRow> SqlStoreQueries<Derived, Connection, Statement>::get_oauth_client(
    std::string_view client_id) {
  return read("get_oauth_client", [&](Connection& c) { return client_by_id(c, client_id); });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_oauth_client(
    std::string_view client_id) {
  // Its codes and tokens go with it (ON DELETE CASCADE, migrations.cpp).
  return write("delete_oauth_client", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM oauth_clients WHERE client_id = ?",
                          [&](Statement& st) { st.bind(1, client_id); });
    if (!n) return n.error();
    return *n > 0;
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::create_oauth_code(
    OAuthCodeRow const& code) {
  if (auto r = check_oauth_code_row(code); !r) return r.error();
  return write("create_oauth_code", [&](Connection& c) -> Result<void> {
    auto st = c.prepare("INSERT INTO oauth_codes (" NBHUB_CODE_COLUMNS
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    auto scopes = to_db_json(code.scopes);
    st->bind(1, std::string_view(code.code_hash))
        .bind(2, std::string_view(code.client_id))
        .bind(3, code.user_id)
        .bind(4, std::string_view(code.redirect_uri))
        .bind(5, std::string_view(scopes))
        .bind(7, to_db_time(code.created))
        .bind(8, to_db_time(code.expires));
    bind_or_null(*st, 6, code.session_id_hash);
    auto r = st->run();
    if (!r && r.error().code == Errc::conflict)
      return make_error(Errc::conflict, "an OAuth code with this hash already exists");
    if (!r && r.error().code == Errc::not_found)
      return Derived::missing_parent(c, r.error(), code.user_id,
                                      std::string_view(code.client_id));
    return r;
  });
}

template <class Derived, class Connection, class Statement>
Result<OAuthCodeRow> SqlStoreQueries<Derived, Connection, Statement>::consume_oauth_code(
    std::string_view code_hash) {
  // One statement in a write transaction: the write lock (the writer mutex here, BEGIN
  // IMMEDIATE against other processes) serializes redemptions, and the DELETE hands the row
  // to exactly one of them. An expired code stays for purge_expired_oauth_codes.
  return write("consume_oauth_code", [&](Connection& c) -> Result<OAuthCodeRow> {
    auto st = c.prepare(
        "DELETE FROM oauth_codes WHERE code_hash = ? AND expires > ? "
        "RETURNING " NBHUB_CODE_COLUMNS);
    if (!st) return st.error();
    auto row = st->bind(1, code_hash).bind(2, to_db_time(clock_.now())).step();
    if (!row) return row.error();
    if (!*row)
      return make_error(Errc::not_found,
                        "no such OAuth code, or it has expired or was already used");
    auto code = code_from(*st);
    // Finish the statement before COMMIT; with RETURNING, SQLite made the change at the first
    // step, so this only drains the (single) row.
    if (auto r = st->run(); !r) return r.error();
    return code;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::purge_expired_oauth_codes(
    Time now) {
  return write("purge_expired_oauth_codes", [&](Connection& c) {
    return run_counting(c, "DELETE FROM oauth_codes WHERE expires <= ?",
                        [&](Statement& st) { st.bind(1, to_db_time(now)); });
  });
}

#undef NBHUB_CLIENT_COLUMNS
#undef NBHUB_CODE_COLUMNS

}  // namespace nbhub::store
