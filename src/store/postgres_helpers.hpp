#pragma once
// Small helpers shared by the PostgresStore method files (not part of the store's interface).
#include "core/result.hpp"
#include "store/rows.hpp"
#include "store/sql_dialect.hpp"
#include "store/postgres_connection.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nbhub::store {

// Runs one statement that returns no rows; `bind(PgStatement&)` binds its parameters.
// Returns how many rows it changed.
Result<std::int64_t> run_counting(PgConnection& c, std::string_view sql, auto&& bind) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  bind(*st);
  if (auto r = st->run(); !r) return r.error();
  return st->changes();
}

// Whether `sql` (one parameter, bound to `key`) yields a row.
template <class Key>
Result<bool> row_exists(PgConnection& c, std::string_view sql, Key key) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  st->bind(1, key);
  return st->step();
}

// Optional values as nullable columns.
inline void bind_or_null(PgStatement& st, int index, std::optional<std::int64_t> v) {
  if (v)
    st.bind(index, *v);
  else
    st.bind_null(index);
}
inline void bind_or_null(PgStatement& st, int index, std::optional<std::string> const& v) {
  if (v)
    st.bind(index, std::string_view(*v));
  else
    st.bind_null(index);
}
inline void bind_or_null(PgStatement& st, int index, std::optional<Time> v) {
  if (v)
    st.bind(index, to_db_time(*v));
  else
    st.bind_null(index);
}
inline std::optional<std::string> optional_text(PgStatement const& st, int column) {
  if (st.is_null(column)) return std::nullopt;
  return st.text(column);
}
inline std::optional<Time> optional_time(PgStatement const& st, int column) {
  if (auto v = st.optional_int64(column)) return from_db_time(*v);
  return std::nullopt;
}

inline Error no_user_with_id(std::int64_t id) {
  return make_error(Errc::not_found, "no user with id " + std::to_string(id));
}

inline Error no_oauth_client(std::string_view client_id) {
  return make_error(Errc::not_found, "no OAuth client '" + std::string(client_id) + "'");
}

// After a foreign-key failure (not_found from PgConnection::error), names the missing row.
// PostgreSQL aborts the transaction at the failed statement, so unlike SqliteStore this cannot
// query; it reads the violated constraint's name, which PgConnection::error puts in brackets.
inline Error missing_parent(Error const& e, std::optional<std::int64_t> user_id,
                            std::optional<std::string_view> client_id) {
  if (client_id && e.message.find("client_id_fkey]") != std::string::npos)
    return no_oauth_client(*client_id);
  if (user_id && e.message.find("user_id_fkey]") != std::string::npos)
    return no_user_with_id(*user_id);
  return e;
}

}  // namespace nbhub::store
