#include "store/postgres_store.hpp"

#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"

#include <string>

namespace nbhub::store {

// ---- PgTransaction ------------------------------------------------------------------------

Result<PgTransaction> PgTransaction::begin(PgConnection& conn, Kind kind) {
  auto r = conn.exec(kind == Kind::write ? std::string(kPostgresDialect.begin_write)
                                         : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!r) return r.error();
  return PgTransaction(conn);
}

Result<void> PgTransaction::commit() {
  auto* conn = conn_;
  conn_ = nullptr;
  // COMMIT of a transaction that failed earlier answers ROLLBACK without an error; every
  // failure path returns before commit(), so reaching here with a failed one is a bug.
  return conn->exec("COMMIT");
}

PgTransaction::~PgTransaction() {
  if (conn_ && !conn_->broken() && conn_->in_transaction()) (void)conn_->exec("ROLLBACK");
}

// ---- pool ---------------------------------------------------------------------------------

namespace {

// Serialises migrations across every process sharing the database: CREATE TABLE IF NOT
// EXISTS itself races in PostgreSQL, and check-then-apply must be atomic. Any constant works;
// this one is "nbhb" in ASCII.
constexpr std::string_view kMigrationLock = "SELECT pg_advisory_xact_lock(1852467298)";

std::string libpq_url(std::string const& url) {
  // SQLAlchemy spells the driver into the scheme (postgresql+psycopg2://); libpq does not.
  auto colon = url.find("://");
  if (colon == std::string::npos) return url;
  auto scheme = url.substr(0, colon);
  if (scheme.starts_with("postgresql+") || scheme.starts_with("postgres+"))
    return "postgresql" + url.substr(colon);
  return url;
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(std::string const& url,
                                                           Clock const& clock,
                                                           StoreOptions const& options) {
  auto migrations =
      options.migrations_for_test.empty() ? builtin_migrations() : options.migrations_for_test;
  for (std::size_t i = 0; i < migrations.size(); ++i)
    if (migrations[i].version != static_cast<int>(i) + 1)
      return make_error(Errc::internal, "migration list is not numbered 1, 2, 3, ...");
  PgConnection::Options co{libpq_url(url), redact_postgres_url(url), options.busy_timeout};
  int pool = std::max(1, options.pool_size);
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(clock, migrations, std::move(co), pool, options.busy_timeout));
  // One connection now: a wrong URL or a newer schema is reported at startup.
  auto conn = store->acquire();
  if (!conn) return annotate("open", conn.error());
  auto checked = in_transaction(**conn, PgTransaction::Kind::read, "open",
                                [&](PgConnection& c) { return store->check_not_newer(c); });
  store->release(*conn);
  if (!checked) return checked.error();
  return store;
}

Result<PgConnection*> PostgresStore::acquire() {
  std::unique_lock lock(pool_mu_);
  bool ok = pool_cv_.wait_for(lock, lease_timeout_, [&] {
    return !idle_.empty() || leased_ < pool_size_;
  });
  if (!ok)
    return make_error(Errc::unavailable,
                      "all " + std::to_string(pool_size_) + " connections to PostgreSQL at " +
                          conn_options_.display + " stayed busy for " +
                          std::to_string(lease_timeout_.count()) +
                          " ms; raise db_pool_size or look for slow queries");
  ++leased_;
  if (!idle_.empty()) {
    auto* conn = idle_.back().release();
    idle_.pop_back();
    return conn;
  }
  lock.unlock();
  // Connect outside the lock: connecting may take up to connect_timeout.
  auto conn = PgConnection::open(conn_options_);
  if (!conn) {
    {
      std::lock_guard relock(pool_mu_);
      --leased_;
    }
    pool_cv_.notify_one();
    return conn.error();
  }
  return conn->release();
}

void PostgresStore::release(PgConnection* conn) {
  std::unique_ptr<PgConnection> owned(conn);
  {
    std::lock_guard lock(pool_mu_);
    --leased_;
    // A broken connection (or one left inside a transaction by a failed ROLLBACK) is dropped;
    // the next lease opens a fresh one.
    if (!owned->broken() && !owned->in_transaction()) idle_.push_back(std::move(owned));
  }
  pool_cv_.notify_one();
}

// ---- schema -------------------------------------------------------------------------------

Error PostgresStore::missing_parent(PgConnection& /*c*/, Error const& fk_error,
                                    std::optional<std::int64_t> user_id,
                                    std::optional<std::string_view> client_id) {
  if (client_id && fk_error.message.find("client_id_fkey]") != std::string::npos)
    return no_oauth_client(*client_id);
  if (user_id && fk_error.message.find("user_id_fkey]") != std::string::npos)
    return no_user_with_id(*user_id);
  return fk_error;
}

Result<int> PostgresStore::migrate() {
  auto lock_then = [&](auto&& fn) {
    return [fn](PgConnection& c) -> decltype(fn(c)) {
      if (auto r = c.exec(std::string(kMigrationLock)); !r) return r.error();
      return fn(c);
    };
  };
  auto bootstrap = lock_then([](PgConnection& c) { return c.exec(std::string(schema_version_ddl())); });
  if (auto r = write("migrate", bootstrap); !r) return r.error();
  for (auto const& m : migrations_) {
    // Read again under the lock in each transaction: another process may have migrated.
    auto step = lock_then([this, &m](PgConnection& c) -> Result<void> {
      if (auto r = check_not_newer(c); !r) return r.error();
      auto v = current_version(c);
      if (!v) return v.error();
      if (*v >= m.version) return {};
      return apply(c, m);
    });
    std::string op =
        "migration " + std::to_string(m.version) + " (" + std::string(m.description) + ")";
    if (auto r = write(op, step); !r) return r.error();
  }
  return read("migrate", [&](PgConnection& c) { return current_version(c); });
}

Result<void> PostgresStore::notify(std::string_view channel, std::string_view payload) {
  return write("notify", [&](PgConnection& c) -> Result<void> {
    auto st = c.prepare("SELECT pg_notify(?, ?)");
    if (!st) return st.error();
    st->bind(1, channel).bind(2, payload);
    auto row = st->step();
    if (!row) return row.error();
    return {};
  });
}

}  // namespace nbhub::store
