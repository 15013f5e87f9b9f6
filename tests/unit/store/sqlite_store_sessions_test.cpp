#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

class Sessions : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  std::int64_t alice = must(store->create_user("alice", false)).id;

  SessionRow session(std::string id_hash, std::chrono::seconds ttl) {
    return {.id_hash = std::move(id_hash),
            .user_id = alice,
            .provider = "cognito",
            .created = clock.now(),
            .expires = clock.now() + ttl,
            .last_seen = clock.now()};
  }
};

}  // namespace

TEST_P(Sessions, RoundTripWithAndWithoutIdTokenHint) {
  auto plain = session("aa", 1h);
  auto hinted = session("bb", 1h);
  hinted.id_token_hint_encrypted = std::string("\x01sealed\x00", 8);
  must(store->create_session(plain));
  must(store->create_session(hinted));
  EXPECT_EQ(must(store->get_session("aa")), plain);
  EXPECT_EQ(must(store->get_session("bb")), hinted);
}

TEST_P(Sessions, AnExpiredSessionIsNotReturnedEvenBeforePurge) {
  must(store->create_session(session("aa", 1h)));
  clock.advance(1h - 1s);
  EXPECT_TRUE(store->get_session("aa"));
  clock.advance(1s);  // expires <= now
  auto r = store->get_session("aa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no such login session, or it has expired");
}

TEST_P(Sessions, PurgeDeletesOnlyExpiredSessions) {
  must(store->create_session(session("short", 1h)));
  must(store->create_session(session("exact", 2h)));
  must(store->create_session(session("long", 3h)));
  EXPECT_EQ(must(store->purge_expired_sessions(kEpoch + 2h)), 2);
  EXPECT_EQ(must(store->purge_expired_sessions(kEpoch + 2h)), 0);
  EXPECT_TRUE(store->get_session("long"));
  EXPECT_EQ(must(store->delete_session("short")), false);  // already purged
}

TEST_P(Sessions, DuplicateIdHashIsAConflictThatDoesNotRepeatTheHash) {
  must(store->create_session(session("5e55104ab5", 1h)));
  auto r = store->create_session(session("5e55104ab5", 2h));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(r.error().message.find("5e55104ab5"), std::string::npos) << r.error().message;
}

TEST_P(Sessions, ASessionForAnUnknownUserIsNotFound) {
  auto s = session("aa", 1h);
  s.user_id = 999;
  auto r = store->create_session(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no user with id 999");
}

TEST_P(Sessions, DeleteIsIdempotentAndPerUserDeleteCounts) {
  must(store->create_session(session("aa", 1h)));
  must(store->create_session(session("bb", 1h)));
  must(store->create_session(session("cc", 1h)));
  EXPECT_TRUE(must(store->delete_session("aa")));
  EXPECT_FALSE(must(store->delete_session("aa")));
  EXPECT_EQ(must(store->delete_sessions_for_user(alice)), 2);
  EXPECT_EQ(store->get_session("bb").error().code, Errc::not_found);
}

TEST_P(Sessions, TouchUpdatesLastSeen) {
  must(store->create_session(session("aa", 1h)));
  must(store->touch_session("aa", kEpoch + 5min));
  EXPECT_EQ(must(store->get_session("aa")).last_seen, kEpoch + 5min);
  EXPECT_EQ(store->touch_session("zz", kEpoch).error().code, Errc::not_found);
}

INSTANTIATE_TEST_SUITE_P(Backends, Sessions, kBackends, backend_name);
