#pragma once
// Copies a whole SQLite database into an empty PostgreSQL one (`nbhub db copy`): every row of
// every table, in foreign-key order, in one PostgreSQL transaction, keeping ids. The id
// sequences continue after SQLite's own counters (sqlite_sequence), so an id that was used
// and deleted in SQLite is never handed out again.
//
// Both databases are migrated to the latest schema first (the SQLite file is not otherwise
// written to). Errors: conflict when the destination already holds users; config for URLs of
// the wrong kind; what the stores report otherwise. Messages never show a password.
#include "core/clock.hpp"
#include "core/result.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace nbhub::store {

struct CopyReport {
  std::map<std::string, std::int64_t> rows;  // table -> rows copied
};

Result<CopyReport> copy_sqlite_to_postgres(std::string_view sqlite_url,
                                           std::string_view postgres_url, Clock const& clock);

}  // namespace nbhub::store
