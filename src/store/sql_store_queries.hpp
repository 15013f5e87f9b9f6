#pragma once
// The Store methods of the SQL back ends (users, sessions, groups, tokens, OAuth, servers),
// written once for SqliteStore and PostgresStore.
//
// Why a template: the two back ends run the same queries and map rows the same way; only
// their connection and statement types differ, and the way a transaction is obtained (SQLite:
// its writer or a reader connection; PostgreSQL: a leased pool connection). A template over
// those types keeps the direct, non-virtual calls of each back end's connection without a
// run-time abstraction layer, and the dialect differences stay explicit (see `Derived` below
// and sql_dialect.hpp). The method bodies live in sql_store_*.ipp and are compiled once per
// back end by an explicit instantiation (sqlite_store_queries.cpp, postgres_store_queries.cpp).
//
// `Derived` (CRTP) provides:
//   template <class Fn> auto read(std::string_view operation, Fn&& fn);   // fn(Connection&)
//   template <class Fn> auto write(std::string_view operation, Fn&& fn);  // in a transaction
//   static Error missing_parent(Connection&, Error const& fk_error,        // names the row a
//                               std::optional<std::int64_t> user_id,       // foreign key
//                               std::optional<std::string_view> client_id); // missed
//   static constexpr std::string_view kInt64Param;  // a `?` whose type the database must know
//   static constexpr SqlDialect const& kDialect;    // its sql_dialect.hpp entry
//   static std::string describe(Connection const&); // the database, for messages (no password)
// and befriends this class so they may stay private.
#include "core/clock.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::store {

template <class Derived, class Connection, class Statement>
class SqlStoreQueries : public Store {
 public:
  Result<UserRow> get_user(std::string_view name) override;
  Result<UserRow> get_user_by_id(std::int64_t id) override;
  Result<bool> user_exists(std::string_view name) override;
  Result<std::vector<UserRow>> list_users(std::int64_t offset, std::int64_t limit) override;
  Result<std::int64_t> count_users() override;
  Result<UserActivityCounts> count_user_activity(std::span<const Time> cutoffs) override;
  void set_query_observer(QueryObserver observer) override { observer_ = std::move(observer); }
  Result<UserRow> create_user(std::string_view name, bool admin) override;
  Result<std::vector<UserRow>> create_users(std::span<std::string const> names, bool admin) override;
  Result<UpsertedUser> upsert_user_on_login(LoginUpdate const& login) override;
  Result<void> set_admin(std::string_view name, bool admin) override;
  Result<void> rename_user(std::string_view name, std::string_view new_name) override;
  Result<void> set_group_properties(std::string_view group,
                                    boost::json::object const& properties) override;
  Result<void> set_auth_state(std::string_view name, std::optional<std::string> encrypted) override;
  Result<void> set_auth_refreshed(std::string_view name, Time when) override;
  Result<void> delete_user(std::string_view name) override;
  Result<void> touch_activity(std::string_view name, Time when) override;

  Result<void> create_session(SessionRow const& session) override;
  Result<SessionRow> get_session(std::string_view id_hash) override;
  Result<void> touch_session(std::string_view id_hash, Time last_seen) override;
  Result<bool> delete_session(std::string_view id_hash) override;
  Result<std::int64_t> delete_sessions_for_user(std::int64_t user_id) override;
  Result<std::int64_t> purge_expired_sessions(Time now) override;

  Result<std::vector<GroupRow>> list_groups(std::int64_t offset, std::int64_t limit) override;
  Result<GroupRow> get_group(std::string_view name) override;
  Result<GroupRow> add_group(std::string_view name, boost::json::object const& properties) override;
  Result<void> set_group_members(std::string_view group,
                                 std::vector<std::string> const& user_names) override;
  Result<void> delete_group(std::string_view name) override;

  Result<TokenRow> create_token(TokenRow const& token) override;
  Result<TokenRow> find_token(std::string_view hash) override;
  Result<std::vector<TokenRow>> list_tokens(std::int64_t user_id) override;
  Result<bool> delete_token(std::int64_t id) override;
  Result<std::int64_t> delete_tokens_for_server(std::int64_t user_id,
                                                std::string_view server_name) override;
  Result<std::int64_t> delete_tokens_for_session(std::string_view session_id_hash) override;
  Result<void> touch_token(std::int64_t id, Time when) override;
  Result<std::int64_t> purge_expired_tokens(Time now) override;
  Result<TokenRow> create_imported_token(TokenRow const& token,
                                         std::string_view foreign_hash) override;
  Result<std::vector<std::pair<TokenRow, std::string>>> find_imported_tokens(
      std::string_view prefix) override;

  Result<OAuthClientRow> upsert_oauth_client(OAuthClientRow const& client) override;
  Result<OAuthClientRow> get_oauth_client(std::string_view client_id) override;
  Result<bool> delete_oauth_client(std::string_view client_id) override;
  Result<void> create_oauth_code(OAuthCodeRow const& code) override;
  Result<OAuthCodeRow> consume_oauth_code(std::string_view code_hash) override;
  Result<std::int64_t> purge_expired_oauth_codes(Time now) override;

  Result<ServerRow> upsert_server(ServerRow const& server) override;
  Result<ServerRow> get_server(std::int64_t user_id, std::string_view name) override;
  Result<std::vector<OwnedServer>> list_servers() override;
  Result<std::vector<ServerRow>> list_servers_for_user(std::int64_t user_id) override;
  Result<bool> delete_server(std::int64_t user_id, std::string_view name) override;
  Result<void> touch_server_activity(std::int64_t user_id, std::string_view name,
                                     Time when) override;

  Result<NamedServerRow> create_named_server(NamedServerRow const& s) override;
  Result<std::optional<NamedServerRow>> get_named_server(std::int64_t user_id, std::string_view name) override;
  Result<std::vector<NamedServerRow>> list_named_servers(std::int64_t user_id) override;
  Result<NamedServerRow> update_named_server(std::int64_t user_id, std::string_view name,
                                             NamedServerRow const& s) override;
  Result<bool> delete_named_server(std::int64_t user_id, std::string_view name) override;
  Result<void> save_server_choices(ServerChoicesRow const& c) override;
  Result<std::optional<ServerChoicesRow>> get_server_choices(std::int64_t user_id, std::string_view name) override;
  Result<ServerClaim> claim_server_start(std::int64_t user_id, std::string_view name,
                                         std::string_view driver, Time lease_until) override;
  Result<ServerRow> advance_server(ServerRow const& next, std::int64_t expected_version) override;
  Result<std::optional<ServerRow>> take_over_server(std::int64_t id, std::int64_t expected_version,
                                                    std::string_view driver, Time now,
                                                    Time lease_until) override;
  Result<bool> renew_server_lease(std::int64_t id, std::string_view driver, Time lease_until) override;
  Result<bool> finish_server_stop(std::int64_t id, std::int64_t expected_version,
                                  std::string_view driver) override;
  Result<std::int64_t> append_server_event(std::int64_t server_id, boost::json::object const& event,
                                           std::size_t keep, std::string_view driver) override;
  Result<std::vector<ServerEvent>> list_server_events(std::int64_t server_id, std::int64_t after_seq) override;

  Result<std::optional<AcmeRecord>> get_acme_record(std::string_view name) override;
  Result<void> put_acme_record(std::string_view name, std::string_view sealed,
                               Time updated) override;
  Result<bool> delete_acme_record(std::string_view name) override;
  Result<bool> take_acme_lease(std::string_view name, std::string_view holder, Time now,
                               Time until) override;
  Result<void> release_acme_lease(std::string_view name, std::string_view holder) override;
  Result<bool> take_lease(std::string_view name, std::string_view holder, Time now,
                          Time until) override;
  Result<void> release_lease(std::string_view name, std::string_view holder) override;
  Result<std::optional<LeaseRow>> get_lease(std::string_view name) override;

  Result<ShareRow> grant_share(std::int64_t owner_id, std::string_view server_name, ShareTarget target,
                               std::vector<std::string> const& scopes, Time now) override;
  Result<std::optional<ShareRow>> revoke_share(std::int64_t owner_id, std::string_view server_name,
                                               ShareTarget target,
                                               std::optional<std::vector<std::string>> const& scopes) override;
  Result<std::optional<ShareRow>> find_share(std::int64_t owner_id, std::string_view server_name,
                                             ShareTarget target) override;
  Result<std::int64_t> delete_shares_for_server(std::int64_t owner_id,
                                                std::optional<std::string_view> server_name) override;
  Result<std::pair<std::vector<ShareRow>, std::int64_t>> list_shares(ShareQuery const& query, std::int64_t offset,
                                                                      std::int64_t limit) override;
  Result<std::vector<std::string>> shared_scopes_for_user(std::int64_t user_id) override;
  Result<ShareCodeRow> create_share_code(ShareCodeRow const& code) override;
  Result<ShareCodeRow> find_share_code(std::string_view code_hash) override;
  Result<ShareRow> exchange_share_code(std::string_view code_hash, std::int64_t user_id, Time now) override;
  Result<std::pair<std::vector<ShareCodeRow>, std::int64_t>> list_share_codes(
      std::int64_t owner_id, std::optional<std::string_view> server_name, std::int64_t offset,
      std::int64_t limit) override;
  Result<std::int64_t> delete_share_codes(std::int64_t owner_id, std::string_view server_name,
                                          std::optional<std::int64_t> id,
                                          std::optional<std::string_view> code_hash) override;
  Result<std::int64_t> purge_expired_share_codes(Time now) override;
  Result<void> create_runtime_service(RuntimeServiceRow const& service) override;
  Result<std::vector<RuntimeServiceRow>> list_runtime_services() override;
  Result<bool> delete_runtime_service(std::string_view name) override;

  Result<int> schema_version() override;
  int latest_schema_version() const override;

 protected:
  SqlStoreQueries(Clock const& clock, std::span<const Migration> migrations)
      : clock_(clock), migrations_(migrations) {}

  // The schema version (sql_store_schema.ipp); the migration loop stays in each back end.
  Result<int> current_version(Connection& conn);
  Result<void> check_not_newer(Connection& conn);  // refuses a schema newer than migrations_
  Result<void> apply(Connection& conn, Migration const& m);

  Clock const& clock_;
  std::span<const Migration> migrations_;

 private:
  // Tells the other replicas that servers changed (Store's server state machine), inside the
  // caller's transaction; a no-op where the dialect has no notifications.
  Result<void> notify_servers(Connection& c, std::string_view driver);
  // create_token's INSERT, inside the caller's transaction.
  Result<TokenRow> insert_token(Connection& c, TokenRow const& t);
  // grant_share's work inside the caller's transaction (exchange_share_code shares it).
  Result<ShareRow> grant_share_in(Connection& c, std::int64_t owner_id, std::string_view server_name,
                                  ShareTarget target, std::vector<std::string> const& scopes, Time now);
  template <class Fn>
  auto read(std::string_view operation, Fn&& fn) {
    if (!observer_) return static_cast<Derived&>(*this).read(operation, std::forward<Fn>(fn));
    auto t0 = std::chrono::steady_clock::now();
    auto r = static_cast<Derived&>(*this).read(operation, std::forward<Fn>(fn));
    observer_(operation, std::chrono::steady_clock::now() - t0, r.has_value());
    return r;
  }
  template <class Fn>
  auto write(std::string_view operation, Fn&& fn) {
    if (!observer_) return static_cast<Derived&>(*this).write(operation, std::forward<Fn>(fn));
    auto t0 = std::chrono::steady_clock::now();
    auto r = static_cast<Derived&>(*this).write(operation, std::forward<Fn>(fn));
    observer_(operation, std::chrono::steady_clock::now() - t0, r.has_value());
    return r;
  }
  QueryObserver observer_;  // set before the store is shared
};

}  // namespace nbhub::store
