#include "app/db_command.hpp"

#include <filesystem>
#include <iostream>

#include "core/clock.hpp"
#include "store/postgres_connection.hpp"
#include "store/store.hpp"
#include "store/store_copy.hpp"
#include "store/process_lock.hpp"
#include "store/store_url.hpp"

namespace nbhub::app {

namespace {

int usage() {
  std::cerr << "usage: nbhub db upgrade [DB_URL]\n"
               "       nbhub db copy sqlite:///PATH postgresql://USER@HOST/DB\n";
  return 2;
}

int upgrade(std::string const& url) {
  SystemClock clock;
  auto parsed = store::StoreUrl::parse(url);
  if (!parsed) {
    std::cerr << "nbhub db upgrade: " << parsed.error().message << "\n";
    return 2;
  }
  // A running hub on the same SQLite file would write during the backup and the migration.
  auto lock = store::ProcessLock::for_database(url);
  if (!lock) {
    std::cerr << "nbhub db upgrade: " << lock.error().message << "\n";
    return 1;
  }
  auto st = store::Store::open(url, clock);
  if (!st) {
    std::cerr << "nbhub db upgrade: " << st.error().message << "\n";
    return 1;
  }
  auto before = (*st)->schema_version();
  if (!before) {
    std::cerr << "nbhub db upgrade: " << before.error().message << "\n";
    return 1;
  }
  if (*before == (*st)->latest_schema_version()) {
    std::cout << "database " << store::redact_postgres_url(url) << " is at the latest schema version "
              << *before << "\n";
    return 0;
  }
  if (parsed->kind == store::StoreUrl::Kind::sqlite_file && *before > 0) {
    // The backup is taken while the store holds no transaction; a hub writing at the same
    // time could still make it inconsistent, so stop the hub first (docs/postgresql.md).
    auto backup = parsed->path + ".bak-" +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
    std::error_code ec;
    std::filesystem::copy_file(parsed->path, backup, ec);
    if (ec) {
      std::cerr << "nbhub db upgrade: cannot back up " << parsed->path << " to " << backup << ": "
                << ec.message() << "; nothing was changed\n";
      return 1;
    }
    std::filesystem::permissions(backup, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::owner_write, ec);
    std::cout << "backed up " << parsed->path << " to " << backup << "\n";
  }
  auto after = (*st)->migrate();
  if (!after) {
    std::cerr << "nbhub db upgrade: " << after.error().message << "\n";
    return 1;
  }
  std::cout << "upgraded " << store::redact_postgres_url(url) << " from schema version " << *before
            << " to " << *after << "\n";
  return 0;
}

}  // namespace

int run_db_command(config::HubConfig const& cfg, std::vector<std::string> const& args) {
  if (args.empty()) return usage();
  if (args[0] == "upgrade" && args.size() <= 2)
    return upgrade(args.size() == 2 ? args[1] : cfg.db_url);
  if (args[0] == "copy" && args.size() == 3) {
    SystemClock clock;
    auto r = store::copy_sqlite_to_postgres(args[1], args[2], clock);
    if (!r) {
      std::cerr << "nbhub: " << r.error().message << "\n";
      return 1;
    }
    for (auto const& [table, rows] : r->rows) std::cout << table << ": " << rows << " rows\n";
    std::cout << "copied " << args[1] << " to " << store::redact_postgres_url(args[2]) << "\n";
    return 0;
  }
  return usage();
}

}  // namespace nbhub::app
