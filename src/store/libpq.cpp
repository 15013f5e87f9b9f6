#include "store/libpq.hpp"

#include <dlfcn.h>

#include <string>

namespace nbhub::store::pq {

namespace {

constexpr char kLibrary[] = "libpq.so.5";

Error load_error(char const* library, std::string const& why) {
  return make_error(Errc::config, std::string("db_url is PostgreSQL but ") + library +
                                      " could not be loaded: " + why +
                                      "; install libpq (Debian and Ubuntu: apt-get install libpq5; "
                                      "Fedora and RHEL: dnf install libpq)");
}

template <class F>
bool resolve(void* lib, char const* name, F& out, std::string& missing) {
  void* sym = ::dlsym(lib, name);
  if (!sym) {
    if (!missing.empty()) missing += ", ";
    missing += name;
    return false;
  }
  out = reinterpret_cast<F>(sym);
  return true;
}

// The handle is never closed: libpq stays for the process's life once a store uses it.
Result<Api const*> open_library(char const* library, Api& api) {
  void* lib = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    char const* why = ::dlerror();
    return load_error(library, why ? why : "unknown dlopen error");
  }
  std::string missing;
#define NBHUB_PQ(field, fn) resolve(lib, #fn, api.field, missing)
  NBHUB_PQ(connectdbParams, PQconnectdbParams);
  NBHUB_PQ(status, PQstatus);
  NBHUB_PQ(errorMessage, PQerrorMessage);
  NBHUB_PQ(finish, PQfinish);
  NBHUB_PQ(prepare, PQprepare);
  NBHUB_PQ(exec, PQexec);
  NBHUB_PQ(execPrepared, PQexecPrepared);
  NBHUB_PQ(resultStatus, PQresultStatus);
  NBHUB_PQ(resultErrorField, PQresultErrorField);
  NBHUB_PQ(ntuples, PQntuples);
  NBHUB_PQ(getisnull, PQgetisnull);
  NBHUB_PQ(getvalue, PQgetvalue);
  NBHUB_PQ(getlength, PQgetlength);
  NBHUB_PQ(cmdTuples, PQcmdTuples);
  NBHUB_PQ(clear, PQclear);
  NBHUB_PQ(transactionStatus, PQtransactionStatus);
  NBHUB_PQ(socket, PQsocket);
  NBHUB_PQ(consumeInput, PQconsumeInput);
  NBHUB_PQ(notifies, PQnotifies);
  NBHUB_PQ(freemem, PQfreemem);
#undef NBHUB_PQ
  if (!missing.empty()) {
    ::dlclose(lib);
    return load_error(library, "it lacks " + missing + " (too old a libpq?)");
  }
  return &api;
}

}  // namespace

Result<Api const*> load() {
  static Api api{};
  static Result<Api const*> const loaded = open_library(kLibrary, api);  // once, thread-safe
  return loaded;
}

Result<Api const*> load_from(char const* library) {
  static Api api{};  // each test load has its own table: never mixed with load()'s
  return open_library(library, api);
}

Api const& api() { return *load().value(); }

}  // namespace nbhub::store::pq
