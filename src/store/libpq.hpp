#pragma once
// libpq, loaded with dlopen when a PostgreSQL store is first opened, never at start-up.
//
// Why: linking libpq made every nbhub process map libpq and what it links (Kerberos, LDAP,
// SASL, GnuTLS, p11-kit, nettle, gmp: about 3.3 MiB resident at idle, a seventh of the hub's
// RSS) even with the default SQLite store. Only postgres_connection.cpp and pg_listener.cpp
// call libpq; they go through this table. libpq-fe.h is still included for its types and
// constants (libpq-dev at build time); at run time the package is libpq5, needed only for
// db_url = "postgresql://...".
#include "core/result.hpp"

#include <libpq-fe.h>

namespace nbhub::store::pq {

// One pointer per libpq function nbhub calls, with libpq's own signature.
struct Api {
  decltype(&::PQconnectdbParams) connectdbParams;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) errorMessage;
  decltype(&::PQfinish) finish;
  decltype(&::PQprepare) prepare;
  decltype(&::PQexec) exec;
  decltype(&::PQexecPrepared) execPrepared;
  decltype(&::PQresultStatus) resultStatus;
  decltype(&::PQresultErrorField) resultErrorField;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQcmdTuples) cmdTuples;
  decltype(&::PQclear) clear;
  decltype(&::PQtransactionStatus) transactionStatus;
  decltype(&::PQsocket) socket;
  decltype(&::PQconsumeInput) consumeInput;
  decltype(&::PQnotifies) notifies;
  decltype(&::PQfreemem) freemem;
};

// Loads libpq.so.5 on the first call (thread-safe) and resolves every function; later calls
// return the same answer. The error (Errc::config) names the library, dlerror's reason and the
// package to install. `library` is for tests only (a library that is missing or lacks a symbol).
Result<Api const*> load();
Result<Api const*> load_from(char const* library);

// The table after a successful load(); PgConnection::open loads it, so code holding a
// connection may call this.
Api const& api();

}  // namespace nbhub::store::pq
