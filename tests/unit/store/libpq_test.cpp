// libpq is loaded with dlopen when a PostgreSQL store is opened (store/libpq.hpp): what a
// missing or unusable library says, and that the real one resolves every function.
#include "store/libpq.hpp"
#include "store/postgres_connection.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>

using namespace nbhub;
using namespace nbhub::store;

TEST(Libpq, MissingLibraryNamesItTheReasonAndThePackage) {
  auto r = pq::load_from("libnbhub-no-such-libpq.so.5");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  auto const& m = r.error().message;
  EXPECT_NE(m.find("db_url is PostgreSQL but libnbhub-no-such-libpq.so.5 could not be loaded: "),
            std::string::npos) << m;
  EXPECT_NE(m.find("cannot open shared object file"), std::string::npos) << m;  // dlerror's words
  EXPECT_NE(m.find("apt-get install libpq5"), std::string::npos) << m;
}

TEST(Libpq, LibraryWithoutTheFunctionsListsWhatIsMissing) {
  // libc loads but has none of libpq's functions.
  auto r = pq::load_from("libc.so.6");
  ASSERT_FALSE(r);
  auto const& m = r.error().message;
  EXPECT_NE(m.find("it lacks PQconnectdbParams, PQstatus"), std::string::npos) << m;
  EXPECT_NE(m.find("PQfreemem"), std::string::npos) << m;
}

TEST(Libpq, InstalledLibpqResolvesEveryFunction) {
  // The test machines have libpq5 (the PostgreSQL store tests need it).
  auto r = pq::load();
  ASSERT_TRUE(r) << r.error().message;
  auto const* api = *r;
  void* const* first = reinterpret_cast<void* const*>(api);
  for (std::size_t i = 0; i < sizeof(pq::Api) / sizeof(void*); ++i) EXPECT_NE(first[i], nullptr) << i;
  EXPECT_EQ(pq::load().value(), api);  // loaded once
  // A connection that fails still goes through the loaded library and reports libpq's reason.
  auto conn = PgConnection::open({"postgresql://nbhub@/x?host=/nonexistent-nbhub-dir&port=1",
                                  "postgresql://nbhub@/x", std::chrono::seconds{1}});
  ASSERT_FALSE(conn);
  EXPECT_NE(conn.error().message.find("cannot connect to PostgreSQL at postgresql://nbhub@/x"),
            std::string::npos) << conn.error().message;
}

TEST(Libpq, NotLinked) {
  // Linked, libpq's symbols would be in the global scope; loaded by pq::load (RTLD_LOCAL) they
  // are not, whatever the order of the tests in this binary.
  void* self = ::dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(::dlsym(self, "PQconnectdbParams"), nullptr);
  ::dlclose(self);
}
