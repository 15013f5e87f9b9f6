#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using Strings = std::vector<std::string>;

namespace {

constexpr auto kClient = "jupyterhub-user-alice";

OAuthClientRow client_for(std::int64_t user_id, Clock const& clock) {
  return {.client_id = kClient,
          .description = "Server at /user/alice/",
          .redirect_uri = "/user/alice/oauth_callback",
          .secret_hash = hash_of("alice-server-token"),
          .user_id = user_id,
          .server_name = "",
          .allowed_scopes = {"access:servers!server=alice/", "read:users:name!user"},
          .created = clock.now()};
}

OAuthCodeRow code_for(std::string const& raw, std::int64_t user_id, Clock const& clock) {
  return {.code_hash = hash_of(raw),
          .client_id = kClient,
          .user_id = user_id,
          .redirect_uri = "/user/alice/oauth_callback",
          .scopes = {"read:users:name!user", "access:servers!server=alice/"},
          .session_id_hash = hash_of("login-session"),
          .created = clock.now(),
          .expires = clock.now() + 300s};
}

class OAuth : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  std::int64_t alice = must(store->create_user("alice", false)).id;
  OAuthClientRow client = must(store->upsert_oauth_client(client_for(alice, clock)));
};

}  // namespace

TEST_P(OAuth, ClientRoundTrip) {
  EXPECT_EQ(client, client_for(alice, clock));
  EXPECT_EQ(must(store->get_oauth_client(kClient)), client);

  OAuthClientRow service{.client_id = "service-announcements",
                         .description = "",
                         .redirect_uri = "https://hub.example.org/services/a/oauth_callback",
                         .secret_hash = "",  // no secret: the provider refuses it (spec §3.2)
                         .created = kEpoch};
  EXPECT_EQ(must(store->upsert_oauth_client(service)), service);
  EXPECT_FALSE(must(store->get_oauth_client("service-announcements")).user_id);
}

TEST_P(OAuth, UpsertReplacesFieldsButKeepsCreatedAndIssuedTokens) {
  auto token = must(store->create_token({.prefix = "abcd",
                                         .hash = hash_of("issued"),
                                         .user_id = alice,
                                         .kind = "oauth",
                                         .created = clock.now(),
                                         .oauth_client_id = std::string(kClient)}));
  clock.advance(1h);
  must(store->create_oauth_code(code_for("pending-code", alice, clock)));
  auto respawn = client_for(alice, clock);
  respawn.redirect_uri = "https://alice.hub.example.org/user/alice/oauth_callback";
  respawn.secret_hash = hash_of("new-server-token");
  respawn.allowed_scopes = {"inherit"};
  auto stored = must(store->upsert_oauth_client(respawn));
  EXPECT_EQ(stored.redirect_uri, respawn.redirect_uri);
  EXPECT_EQ(stored.secret_hash, respawn.secret_hash);
  EXPECT_EQ(stored.allowed_scopes, Strings{"inherit"});
  EXPECT_EQ(stored.created, kEpoch);  // the first registration
  // An update, not delete-and-insert: the cascade must not have fired.
  EXPECT_EQ(must(store->find_token(token.hash)), token);
  EXPECT_TRUE(store->consume_oauth_code(hash_of("pending-code")));
}

TEST_P(OAuth, UnknownClientsAndRefusedClients) {
  auto r = store->get_oauth_client("jupyterhub-user-ghost");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no OAuth client 'jupyterhub-user-ghost'");
  EXPECT_FALSE(must(store->delete_oauth_client("jupyterhub-user-ghost")));

  auto orphan = client_for(999, clock);
  orphan.client_id = "jupyterhub-user-orphan";
  EXPECT_EQ(store->upsert_oauth_client(orphan).error().message, "no user with id 999");

  auto raw_secret = client_for(alice, clock);
  raw_secret.secret_hash = "s3cr3t-server-token";
  auto bad = store->upsert_oauth_client(raw_secret);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_EQ(bad.error().message.find("s3cr3t"), std::string::npos) << bad.error().message;
  EXPECT_EQ(must(store->get_oauth_client(kClient)), client);  // unchanged

  auto unnamed = client_for(alice, clock);
  unnamed.client_id = "";
  EXPECT_EQ(store->upsert_oauth_client(unnamed).error().code, Errc::bad_request);
}

TEST_P(OAuth, DeletingAClientTakesItsCodesAndTokens) {
  auto token = must(store->create_token({.prefix = "abcd",
                                         .hash = hash_of("issued"),
                                         .user_id = alice,
                                         .kind = "oauth",
                                         .created = clock.now(),
                                         .oauth_client_id = std::string(kClient)}));
  auto api = must(store->create_token(
      {.hash = hash_of("api"), .user_id = alice, .kind = "api", .created = clock.now()}));
  must(store->create_oauth_code(code_for("code", alice, clock)));
  EXPECT_TRUE(must(store->delete_oauth_client(kClient)));
  EXPECT_FALSE(must(store->delete_oauth_client(kClient)));
  EXPECT_EQ(store->find_token(token.hash).error().code, Errc::not_found);
  EXPECT_EQ(store->consume_oauth_code(hash_of("code")).error().code, Errc::not_found);
  EXPECT_TRUE(store->find_token(api.hash));  // not issued to the client
}

TEST_P(OAuth, CodeIsReturnedOnceAndThenGone) {
  auto code = code_for("the-code", alice, clock);
  must(store->create_oauth_code(code));
  EXPECT_EQ(must(store->consume_oauth_code(code.code_hash)), code);
  auto again = store->consume_oauth_code(code.code_hash);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::not_found);
  EXPECT_EQ(again.error().message, "no such OAuth code, or it has expired or was already used");

  auto without_session = code_for("no-session", alice, clock);
  without_session.session_id_hash.reset();
  without_session.scopes.clear();
  must(store->create_oauth_code(without_session));
  EXPECT_EQ(must(store->consume_oauth_code(without_session.code_hash)), without_session);
}

TEST_P(OAuth, AnExpiredCodeIsNotReturnedAndPurgeRemovesIt) {
  must(store->create_oauth_code(code_for("late", alice, clock)));
  must(store->create_oauth_code(code_for("later", alice, clock)));
  clock.advance(300s);  // expires <= now
  EXPECT_EQ(store->consume_oauth_code(hash_of("late")).error().code, Errc::not_found);
  auto fresh = code_for("fresh", alice, clock);
  must(store->create_oauth_code(fresh));
  EXPECT_EQ(must(store->purge_expired_oauth_codes(clock.now())), 2);
  EXPECT_EQ(must(store->purge_expired_oauth_codes(clock.now())), 0);
  EXPECT_EQ(must(store->consume_oauth_code(fresh.code_hash)), fresh);
}

TEST_P(OAuth, CodeForUnknownClientOrUserOrWithDuplicateHash) {
  auto ghost_client = code_for("c1", alice, clock);
  ghost_client.client_id = "jupyterhub-user-ghost";
  EXPECT_EQ(store->create_oauth_code(ghost_client).error().message,
            "no OAuth client 'jupyterhub-user-ghost'");
  EXPECT_EQ(store->create_oauth_code(code_for("c2", 999, clock)).error().message,
            "no user with id 999");

  must(store->create_oauth_code(code_for("c3", alice, clock)));
  auto r = store->create_oauth_code(code_for("c3", alice, clock));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(r.error().message, "an OAuth code with this hash already exists");

  auto raw = code_for("c4", alice, clock);
  raw.code_hash = "s3cr3tCodeFromTheBrowserAbCdEf";
  auto bad = store->create_oauth_code(raw);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_EQ(bad.error().message.find("s3cr3t"), std::string::npos) << bad.error().message;
}

// Single use under concurrency: many threads redeem the same code at once, through one store
// (the writer mutex) and through two stores on one file (SQLite's write lock, as two hub
// processes would). Exactly one wins per code. Bounded: 20 codes x 8 threads.
enum class Topology { InMemory, OneStoreOnFile, TwoStoresOnFile };

class ConsumeRace : public ::testing::TestWithParam<Topology> {};

TEST_P(ConsumeRace, ExactlyOneConcurrentConsumerWins) {
  TempDir dir;
  FakeClock clock{kEpoch};
  bool on_file = GetParam() != Topology::InMemory;
  auto url = on_file ? dir.url("hub.sqlite") : std::string("sqlite://");
  auto first = open_migrated(url, clock);
  auto second = GetParam() == Topology::TwoStoresOnFile ? open_migrated(url, clock) : nullptr;
  auto alice = must(first->create_user("alice", false)).id;
  must(first->upsert_oauth_client(client_for(alice, clock)));

  constexpr int kCodes = 20, kThreads = 8;
  for (int i = 0; i < kCodes; ++i)
    must(first->create_oauth_code(code_for("race-" + std::to_string(i), alice, clock)));

  std::atomic<int> errors{0};
  std::vector<std::atomic<int>> wins(kCodes);
  for (int i = 0; i < kCodes; ++i) {
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    auto hash = hash_of("race-" + std::to_string(i));
    for (int t = 0; t < kThreads; ++t) {
      Store* store = (second && t % 2) ? second.get() : first.get();
      threads.emplace_back([&, hash, store] {
        start.arrive_and_wait();
        auto r = store->consume_oauth_code(hash);
        if (r)
          ++wins[i];
        else if (r.error().code != Errc::not_found)
          ++errors;
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kCodes; ++i) EXPECT_EQ(wins[i].load(), 1) << "code " << i;
}

INSTANTIATE_TEST_SUITE_P(Store, ConsumeRace,
                         ::testing::Values(Topology::InMemory, Topology::OneStoreOnFile,
                                           Topology::TwoStoresOnFile),
                         [](auto const& info) {
                           switch (info.param) {
                             case Topology::InMemory: return "InMemory";
                             case Topology::OneStoreOnFile: return "OneStoreOnFile";
                             default: return "TwoStoresOnFile";
                           }
                         });

INSTANTIATE_TEST_SUITE_P(Backends, OAuth, kBackends, backend_name);
