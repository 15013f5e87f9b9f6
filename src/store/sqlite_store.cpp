#include "store/sqlite_store.hpp"

#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace nbhub::store {

Error annotate(std::string_view operation, Error e) {
  switch (e.code) {
    case Errc::not_found:
    case Errc::conflict:
    case Errc::bad_request: return e;
    default: e.message = "store: " + std::string(operation) + ": " + e.message; return e;
  }
}

namespace {

Error os_error(std::string what, std::string const& path, int err) {
  return make_error(Errc::unavailable, what + " " + path + ": " + std::strerror(err) +
                                           "; check that the user running nbhub may write there");
}

// Creates missing parent directories (mode 0700: the database holds login sessions and
// encrypted tokens) and the file itself with mode 0600, before SQLite sees it. SQLite would
// create it with 0644 minus umask, and gives its -wal and -shm files the database's mode.
Result<void> prepare_file(std::string const& path) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(path).parent_path();
  if (!dir.empty()) {
    fs::path prefix;
    for (auto const& part : dir) {
      prefix /= part;
      struct stat st {};
      if (::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
        return os_error("cannot create the database directory", prefix.string(), errno);
    }
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};  // an existing database keeps the mode its owner chose
    return os_error("cannot create the database file", path, errno);
  }
  // umask can only remove bits from 0600; an odd one (0277) would leave the owner unable to
  // write, so set the mode explicitly.
  int rc = ::fchmod(fd, 0600);
  int err = errno;
  ::close(fd);
  if (rc != 0) return os_error("cannot set mode 0600 on", path, err);
  return {};
}

Result<void> check_migration_list(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i)
    if (migrations[i].version != static_cast<int>(i) + 1)
      return make_error(Errc::internal, "migration list is not numbered 1, 2, 3, ... (entry " +
                                            std::to_string(i) + " has version " +
                                            std::to_string(migrations[i].version) + ")");
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(std::string const& path, Clock const& clock,
                                                       StoreOptions const& options) {
  auto migrations =
      options.migrations_for_test.empty() ? builtin_migrations() : options.migrations_for_test;
  if (auto r = check_migration_list(migrations); !r) return r.error();
  bool memory = path == ":memory:";
  if (!memory)
    if (auto r = prepare_file(path); !r) return r.error();

  std::unique_ptr<SqliteStore> store(new SqliteStore(clock, migrations));
  auto writer = SqliteConnection::open({path, options.busy_timeout, false});
  if (!writer) return annotate("open", writer.error());
  store->writer_ = std::move(*writer);
  if (auto r = store->check_not_newer(*store->writer_); !r) return annotate("open", r.error());

  if (!memory) {
    for (int i = 0; i < options.read_connections; ++i) {
      auto reader = SqliteConnection::open({path, options.busy_timeout, true});
      if (!reader) return annotate("open", reader.error());
      store->free_readers_.push_back(reader->get());
      store->readers_.push_back(std::move(*reader));
    }
  }
  return store;
}

SqliteConnection& SqliteStore::acquire_reader() {
  std::unique_lock lock(read_mu_);
  reader_free_.wait(lock, [&] { return !free_readers_.empty(); });
  auto* conn = free_readers_.back();
  free_readers_.pop_back();
  return *conn;
}

void SqliteStore::release_reader(SqliteConnection& conn) {
  {
    std::lock_guard lock(read_mu_);
    free_readers_.push_back(&conn);
  }
  reader_free_.notify_one();
}

// ---- schema -----------------------------------------------------------------------------

Error SqliteStore::missing_parent(SqliteConnection& c, Error const& /*fk_error*/,
                                  std::optional<std::int64_t> user_id,
                                  std::optional<std::string_view> client_id) {
  if (user_id) {
    auto found = row_exists(c, "SELECT 1 FROM users WHERE id = ?", *user_id);
    if (!found) return found.error();
    if (!*found) return no_user_with_id(*user_id);
  }
  if (client_id) {
    auto found = row_exists(c, "SELECT 1 FROM oauth_clients WHERE client_id = ?", *client_id);
    if (!found) return found.error();
    if (!*found) return no_oauth_client(*client_id);
  }
  return make_error(Errc::internal,
                    "a foreign key failed although the user and OAuth client it names exist");
}

Result<int> SqliteStore::migrate() {
  std::lock_guard lock(write_mu_);
  auto bootstrap = [&](SqliteConnection& c) { return c.exec(std::string(schema_version_ddl())); };
  if (auto r = in_transaction(*writer_, SqliteTransaction::Kind::write, "migrate", bootstrap); !r)
    return r.error();
  for (auto const& m : migrations_) {
    // The version is read again inside each write transaction: another process may have
    // migrated meanwhile, and the write lock makes check-then-apply atomic across processes.
    auto step = [&](SqliteConnection& c) -> Result<void> {
      if (auto r = check_not_newer(c); !r) return r.error();
      auto v = current_version(c);
      if (!v) return v.error();
      if (*v >= m.version) return {};
      return apply(c, m);
    };
    std::string op =
        "migration " + std::to_string(m.version) + " (" + std::string(m.description) + ")";
    if (auto r = in_transaction(*writer_, SqliteTransaction::Kind::write, op, step); !r)
      return r.error();
  }
  return in_transaction(*writer_, SqliteTransaction::Kind::read, "migrate",
                        [&](SqliteConnection& c) { return current_version(c); });
}

}  // namespace nbhub::store
