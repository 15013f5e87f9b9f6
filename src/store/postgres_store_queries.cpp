// The shared SQL store queries (sql_store_*.ipp), compiled for PostgresStore: the one place
// they are instantiated for this back end (see sql_store_queries.hpp for why they are a template).
#include "store/postgres_store.hpp"

#include "store/sql_store_acme.ipp"
#include "store/sql_store_groups.ipp"
#include "store/sql_store_leases.ipp"
#include "store/sql_store_oauth.ipp"
#include "store/sql_store_schema.ipp"
#include "store/sql_store_named_servers.ipp"
#include "store/sql_store_servers.ipp"
#include "store/sql_store_sessions.ipp"
#include "store/sql_store_shares.ipp"
#include "store/sql_store_tokens.ipp"
#include "store/sql_store_users.ipp"

namespace nbhub::store {

template class SqlStoreQueries<PostgresStore, PgConnection, PgStatement>;

}  // namespace nbhub::store
