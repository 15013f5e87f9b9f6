#pragma once
// The numbered schema migrations. The database records each applied one as a row of
// `schema_version` (version, description, applied_at); its current version is the highest.
//
// Adding a table (servers, API tokens) is a new entry at the end with the next number. Never
// edit or renumber an entry that has shipped: databases in the field have already run it.
// Each migration runs in its own transaction together with its schema_version row, so a
// failure leaves the database at the previous version.
//
// Rolling upgrades (docs/replicas.md): from migration 5 on, each migration says which older
// binaries may keep running on the schema it produces (`oldest_reader`). A binary that knows
// versions up to N opens a database at version M > N only if every migration above N names an
// oldest_reader <= N; otherwise it refuses, as before. A migration that only adds tables, or
// columns that have defaults and that older binaries need not fill, sets oldest_reader to the
// version before it; a change an older binary cannot live with keeps the default and is made
// in two releases (first teach the binaries to cope, then change the schema).
#include <span>
#include <string_view>

namespace nbhub::store {

struct Migration {
  int version;                   // 1, 2, 3, ... without gaps
  std::string_view description;  // shown in logs and stored in schema_version
  std::string_view sql;          // portable DDL; see SqlDialect::render for {placeholders}
  // The oldest binary (by the latest version it knows) that may run on the result; 0 means
  // `version`: older binaries must stop. Recorded from migration kFirstCompatVersion on.
  int oldest_reader = 0;
};

// The first migration that records oldest_reader (it adds the column to schema_version).
inline constexpr int kFirstCompatVersion = 5;

// The built-in list, in version order.
std::span<const Migration> builtin_migrations();

// The bootstrap statement creating `schema_version` itself (portable, idempotent).
std::string_view schema_version_ddl();

}  // namespace nbhub::store
