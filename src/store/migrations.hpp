#pragma once
// The numbered schema migrations. The database records each applied one as a row of
// `schema_version` (version, description, applied_at); its current version is the highest.
//
// Adding a table (servers, API tokens) is a new entry at the end with the next number. Never
// edit or renumber an entry that has shipped: databases in the field have already run it.
// Each migration runs in its own transaction together with its schema_version row, so a
// failure leaves the database at the previous version.
#include <span>
#include <string_view>

namespace nbhub::store {

struct Migration {
  int version;                   // 1, 2, 3, ... without gaps
  std::string_view description;  // shown in logs and stored in schema_version
  std::string_view sql;          // portable DDL; see SqlDialect::render for {placeholders}
};

// The built-in list, in version order.
std::span<const Migration> builtin_migrations();

// The bootstrap statement creating `schema_version` itself (portable, idempotent).
std::string_view schema_version_ddl();

}  // namespace nbhub::store
