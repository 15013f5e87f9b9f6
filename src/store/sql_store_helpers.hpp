#pragma once
// Small helpers shared by the SQL store method files (sql_store_*.ipp), for either back end's
// connection and statement types (not part of the store's interface).
#include "core/result.hpp"
#include "store/rows.hpp"
#include "store/sql_dialect.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nbhub::store {

// Runs one statement that returns no rows; `bind(Statement&)` binds its parameters.
// Returns how many rows it changed.
Result<std::int64_t> run_counting(auto& connection, std::string_view sql, auto&& bind) {
  auto st = connection.prepare(sql);
  if (!st) return st.error();
  bind(*st);
  if (auto r = st->run(); !r) return r.error();
  return st->changes();
}

// Whether `sql` (one parameter, bound to `key`) yields a row.
template <class Key>
Result<bool> row_exists(auto& connection, std::string_view sql, Key key) {
  auto st = connection.prepare(sql);
  if (!st) return st.error();
  st->bind(1, key);
  return st->step();
}

// Optional values as nullable columns.
void bind_or_null(auto& st, int index, std::optional<std::int64_t> v) {
  if (v)
    st.bind(index, *v);
  else
    st.bind_null(index);
}
void bind_or_null(auto& st, int index, std::optional<std::string> const& v) {
  if (v)
    st.bind(index, std::string_view(*v));
  else
    st.bind_null(index);
}
void bind_or_null(auto& st, int index, std::optional<Time> v) {
  if (v)
    st.bind(index, to_db_time(*v));
  else
    st.bind_null(index);
}
std::optional<std::string> optional_text(auto const& st, int column) {
  if (st.is_null(column)) return std::nullopt;
  return st.text(column);
}
std::optional<Time> optional_time(auto const& st, int column) {
  if (auto v = st.optional_int64(column)) return from_db_time(*v);
  return std::nullopt;
}

inline Error no_user_with_id(std::int64_t id) {
  return make_error(Errc::not_found, "no user with id " + std::to_string(id));
}

inline Error no_oauth_client(std::string_view client_id) {
  return make_error(Errc::not_found, "no OAuth client '" + std::string(client_id) + "'");
}

}  // namespace nbhub::store
