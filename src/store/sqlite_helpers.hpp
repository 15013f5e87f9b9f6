#pragma once
// Small helpers shared by the SqliteStore method files (not part of the store's interface).
#include "core/result.hpp"
#include "store/rows.hpp"
#include "store/sql_dialect.hpp"
#include "store/sqlite_connection.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nbhub::store {

// Runs one statement that returns no rows; `bind(SqliteStatement&)` binds its parameters.
// Returns how many rows it changed.
Result<std::int64_t> run_counting(SqliteConnection& c, std::string_view sql, auto&& bind) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  bind(*st);
  if (auto r = st->run(); !r) return r.error();
  return st->changes();
}

// Whether `sql` (one parameter, bound to `key`) yields a row.
template <class Key>
Result<bool> row_exists(SqliteConnection& c, std::string_view sql, Key key) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  st->bind(1, key);
  return st->step();
}

// Optional values as nullable columns.
inline void bind_or_null(SqliteStatement& st, int index, std::optional<std::int64_t> v) {
  if (v)
    st.bind(index, *v);
  else
    st.bind_null(index);
}
inline void bind_or_null(SqliteStatement& st, int index, std::optional<std::string> const& v) {
  if (v)
    st.bind(index, std::string_view(*v));
  else
    st.bind_null(index);
}
inline void bind_or_null(SqliteStatement& st, int index, std::optional<Time> v) {
  if (v)
    st.bind(index, to_db_time(*v));
  else
    st.bind_null(index);
}
inline std::optional<std::string> optional_text(SqliteStatement const& st, int column) {
  if (st.is_null(column)) return std::nullopt;
  return st.text(column);
}
inline std::optional<Time> optional_time(SqliteStatement const& st, int column) {
  if (auto v = st.optional_int64(column)) return from_db_time(*v);
  return std::nullopt;
}

inline Error no_user_with_id(std::int64_t id) {
  return make_error(Errc::not_found, "no user with id " + std::to_string(id));
}

inline Error no_oauth_client(std::string_view client_id) {
  return make_error(Errc::not_found, "no OAuth client '" + std::string(client_id) + "'");
}

// After a foreign-key failure (not_found from SqliteConnection::error), names the missing
// row: the user, else the OAuth client. Runs inside the failed statement's transaction, which
// SQLite keeps open (only the statement was undone).
Error missing_parent(SqliteConnection& c, std::optional<std::int64_t> user_id,
                     std::optional<std::string_view> client_id);

}  // namespace nbhub::store
