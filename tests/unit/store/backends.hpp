#pragma once
// The store tests run against both back ends: SQLite in memory and a fresh database on the
// private PostgreSQL of pg_rig.hpp. A fixture derives from BackendTest, opens its store with
// open_backend(clock) (usable in member initialisers) and is instantiated with
//   INSTANTIATE_TEST_SUITE_P(Backends, Fixture, kBackends, backend_name);
// When PostgreSQL cannot run, its variants report SKIPPED with the rig's reason.
#include "pg_rig.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nbhub::store::testing {

enum class Backend { sqlite, postgresql };

inline auto const kBackends = ::testing::Values(Backend::sqlite, Backend::postgresql);

inline std::string backend_name(::testing::TestParamInfo<Backend> const& info) {
  return info.param == Backend::sqlite ? "SQLite" : "PostgreSQL";
}

// A URL for a new, empty database of `backend`, or "" when PostgreSQL is unavailable.
inline std::string fresh_url(Backend backend) {
  if (backend == Backend::sqlite) return "sqlite://";
  auto& rig = PgRig::shared();
  return rig.available() ? rig.fresh_database_url() : std::string();
}

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  // Member initialisers run before SetUp can skip, so without PostgreSQL they get an
  // in-memory SQLite store to initialise against; SetUp then skips the test before its body.
  std::unique_ptr<Store> open_backend(Clock& clock, StoreOptions options = {}) {
    auto url = fresh_url(GetParam());
    if (url.empty()) url = "sqlite://";
    url_ = url;
    return open_migrated(url, clock, options);
  }
  void SetUp() override {
    if (GetParam() == Backend::postgresql && !PgRig::shared().available())
      GTEST_SKIP() << "PostgreSQL unavailable: " << PgRig::shared().reason();
  }
  std::string url_;  // the URL open_backend used last
};

}  // namespace nbhub::store::testing
