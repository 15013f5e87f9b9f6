#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <cctype>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using Strings = std::vector<std::string>;

namespace {

class Tokens : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  std::int64_t alice = must(store->create_user("alice", false)).id;
  std::int64_t bob = must(store->create_user("bob", false)).id;

  TokenRow token(std::string const& raw, std::int64_t user_id, std::string kind = "api") {
    return {.prefix = raw.substr(0, 4),
            .hash = hash_of(raw),
            .user_id = user_id,
            .kind = std::move(kind),
            .scopes = {"read:users:name!user"},
            .note = "test token",
            .created = clock.now()};
  }

  void add_client(std::string const& client_id) {
    must(store->upsert_oauth_client({.client_id = client_id,
                                     .description = "Server at /user/alice/",
                                     .redirect_uri = "/user/alice/oauth_callback",
                                     .secret_hash = hash_of("server-token"),
                                     .user_id = alice,
                                     .server_name = "",
                                     .created = clock.now()}));
  }
};

}  // namespace

TEST_P(Tokens, RoundTripKeepsEveryField) {
  add_client("jupyterhub-user-alice");
  TokenRow full{.prefix = "tok1",
                .hash = hash_of("tok1-full"),
                .user_id = alice,
                .server_name = "gpu",
                .kind = "oauth",
                // Order kept, and text that needs escaping survives the JSON column.
                .scopes = {"users:activity!user", "access:servers!server=alice/gpu",
                           "quote\" back\\slash \xc3\xa9"},
                .note = "OAuth token for jupyterhub-user-alice",
                .created = kEpoch + 1s,
                .expires_at = kEpoch + 14 * 24h,
                .last_activity = kEpoch + 2s,
                .oauth_client_id = "jupyterhub-user-alice",
                .session_id_hash = hash_of("session")};
  auto created = must(store->create_token(full));
  EXPECT_GT(created.id, 0);
  full.id = created.id;
  EXPECT_EQ(created, full);
  EXPECT_EQ(must(store->find_token(full.hash)), full);

  TokenRow service{.prefix = "",
                   .hash = hash_of("svc"),
                   .service_name = "announcements",
                   .kind = "api",
                   .created = kEpoch};
  service.id = must(store->create_token(service)).id;
  auto found = must(store->find_token(service.hash));
  EXPECT_EQ(found, service);
  EXPECT_FALSE(found.user_id);
  EXPECT_TRUE(found.scopes.empty());
  EXPECT_FALSE(found.expires_at);
}

TEST_P(Tokens, AnExpiredTokenIsNotFoundEvenBeforePurge) {
  auto t = token("expiring", alice);
  t.expires_at = kEpoch + 1h;
  must(store->create_token(t));
  clock.advance(1h - 1s);
  EXPECT_TRUE(store->find_token(t.hash));
  clock.advance(1s);  // expires_at <= now
  auto r = store->find_token(t.hash);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no such API token, or it has expired");
  EXPECT_EQ(store->find_token(hash_of("never issued")).error().code, Errc::not_found);
}

TEST_P(Tokens, ListShowsTheUsersUnexpiredTokensInCreationOrder) {
  auto a1 = must(store->create_token(token("a1-token", alice, "server")));
  auto expiring = token("a2-token", alice);
  expiring.expires_at = kEpoch + 1h;
  auto a2 = must(store->create_token(expiring));
  auto a3 = must(store->create_token(token("a3-token", alice, "session")));
  must(store->create_token(token("b1-token", bob)));

  auto list = must(store->list_tokens(alice));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], a1);
  EXPECT_EQ(list[1], a2);
  EXPECT_EQ(list[2], a3);
  clock.advance(1h);
  list = must(store->list_tokens(alice));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].id, a3.id);
  EXPECT_TRUE(must(store->list_tokens(999)).empty());
}

TEST_P(Tokens, PurgeDeletesOnlyExpiredTokens) {
  for (auto [raw, ttl] : {std::pair{"short", 1h}, {"exact", 2h}, {"long", 3h}}) {
    auto t = token(raw, alice);
    t.expires_at = kEpoch + ttl;
    must(store->create_token(t));
  }
  must(store->create_token(token("forever", alice)));
  EXPECT_EQ(must(store->purge_expired_tokens(kEpoch + 2h)), 2);
  EXPECT_EQ(must(store->purge_expired_tokens(kEpoch + 2h)), 0);
  clock.set(kEpoch + 100 * 24h);
  EXPECT_EQ(store->find_token(hash_of("long")).error().code, Errc::not_found);  // expired
  EXPECT_TRUE(store->find_token(hash_of("forever")));
  EXPECT_EQ(must(store->purge_expired_tokens(clock.now())), 1);
}

TEST_P(Tokens, DuplicateHashIsAConflictThatDoesNotRepeatTheHash) {
  auto t = token("dup-token", alice);
  must(store->create_token(t));
  auto r = store->create_token(token("dup-token", bob));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(r.error().message, "an API token with this hash already exists");
}

TEST_P(Tokens, UnknownOwnerOrClientIsNotFoundAndStoresNothing) {
  auto r = store->create_token(token("orphan", 999));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no user with id 999");

  auto t = token("no-client", alice, "oauth");
  t.oauth_client_id = "jupyterhub-user-ghost";
  r = store->create_token(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no OAuth client 'jupyterhub-user-ghost'");
  EXPECT_TRUE(must(store->list_tokens(alice)).empty());
}

TEST_P(Tokens, MalformedRowsAreRefusedWithoutRepeatingSecrets) {
  auto raw_as_hash = token("x", alice);
  raw_as_hash.hash = "s3cr3t-raw-token-value";  // a caller forgot to hash
  auto r = store->create_token(raw_as_hash);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos) << r.error().message;

  auto upper = token("x", alice);
  for (auto& ch : upper.hash) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(store->create_token(upper).error().code, Errc::bad_request);

  auto long_prefix = token("s3cr3t-token", alice);
  long_prefix.prefix = "s3cr3t-token";
  r = store->create_token(long_prefix);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos) << r.error().message;

  r = store->create_token(token("x", alice, "bogus"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "unknown token kind 'bogus' (expected server, api, oauth or session)");

  auto both = token("x", alice);
  both.service_name = "svc";
  EXPECT_EQ(store->create_token(both).error().message,
            "a token belongs to exactly one user or one service, not both");
  auto neither = token("x", alice);
  neither.user_id.reset();
  EXPECT_EQ(store->create_token(neither).error().message,
            "a token belongs to exactly one user or one service, not neither");

  auto empty_session = token("x", alice);
  empty_session.session_id_hash = "";
  EXPECT_EQ(store->create_token(empty_session).error().code, Errc::bad_request);
  EXPECT_TRUE(must(store->list_tokens(alice)).empty());
}

TEST_P(Tokens, DeleteOneTokenIsIdempotent) {
  auto t = must(store->create_token(token("del", alice)));
  EXPECT_TRUE(must(store->delete_token(t.id)));
  EXPECT_FALSE(must(store->delete_token(t.id)));
  EXPECT_EQ(store->find_token(t.hash).error().code, Errc::not_found);
}

TEST_P(Tokens, DeleteForServerTakesOnlyThatServersTokens) {
  auto server_token = [&](std::string const& raw, std::int64_t user, std::string server) {
    auto t = token(raw, user, "server");
    t.server_name = std::move(server);
    return must(store->create_token(t));
  };
  server_token("alice-default", alice, "");
  server_token("alice-default-2", alice, "");
  auto gpu = server_token("alice-gpu", alice, "gpu");
  auto bobs = server_token("bob-default", bob, "");
  auto api = must(store->create_token(token("alice-api", alice)));  // no server

  EXPECT_EQ(must(store->delete_tokens_for_server(alice, "")), 2);
  EXPECT_EQ(must(store->delete_tokens_for_server(alice, "")), 0);
  auto left = must(store->list_tokens(alice));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id, gpu.id);
  EXPECT_EQ(left[1].id, api.id);
  EXPECT_TRUE(store->find_token(bobs.hash));
}

TEST_P(Tokens, DeleteForSessionTakesItsTokensAndUnredeemedCodes) {
  add_client("jupyterhub-user-alice");
  auto in_session = [&](std::string const& raw, std::string const& session) {
    auto t = token(raw, alice, "oauth");
    t.oauth_client_id = "jupyterhub-user-alice";
    t.session_id_hash = hash_of(session);
    return must(store->create_token(t));
  };
  in_session("t1", "login-1");
  in_session("t2", "login-1");
  auto other = in_session("t3", "login-2");
  auto plain = must(store->create_token(token("t4", alice)));
  auto code = [&](std::string const& raw, std::string const& session) {
    must(store->create_oauth_code({.code_hash = hash_of(raw),
                                   .client_id = "jupyterhub-user-alice",
                                   .user_id = alice,
                                   .redirect_uri = "/user/alice/oauth_callback",
                                   .session_id_hash = hash_of(session),
                                   .created = clock.now(),
                                   .expires = clock.now() + 300s}));
  };
  code("code-1", "login-1");
  code("code-2", "login-2");

  EXPECT_EQ(must(store->delete_tokens_for_session(hash_of("login-1"))), 2);
  auto left = must(store->list_tokens(alice));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id, other.id);
  EXPECT_EQ(left[1].id, plain.id);
  EXPECT_EQ(store->consume_oauth_code(hash_of("code-1")).error().code, Errc::not_found);
  EXPECT_TRUE(store->consume_oauth_code(hash_of("code-2")));
}

TEST_P(Tokens, TouchNeverMovesLastActivityBackwards) {
  auto t = must(store->create_token(token("touch", alice)));
  EXPECT_FALSE(t.last_activity);
  must(store->touch_token(t.id, kEpoch + 10s));
  must(store->touch_token(t.id, kEpoch + 5s));  // a late report
  EXPECT_EQ(must(store->find_token(t.hash)).last_activity, kEpoch + 10s);
  must(store->touch_token(t.id, kEpoch + 20s));
  EXPECT_EQ(must(store->find_token(t.hash)).last_activity, kEpoch + 20s);

  auto r = store->touch_token(424242, kEpoch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no API token with id 424242");
}

TEST_P(Tokens, ServiceTokensHaveNoUserAndSurviveUserDeletion) {
  auto svc = must(store->create_token({.prefix = "svc1",
                                       .hash = hash_of("svc1-token"),
                                       .service_name = "cull-idle",
                                       .kind = "api",
                                       .scopes = {"admin:servers"},
                                       .created = kEpoch}));
  must(store->create_token(token("alice-token", alice)));
  must(store->delete_user("alice"));
  EXPECT_EQ(store->find_token(hash_of("alice-token")).error().code, Errc::not_found);
  EXPECT_EQ(must(store->find_token(svc.hash)), svc);
}

// Tokens imported from JupyterHub (migration 3): found by prefix with their verifier, unexpired
// only, and deleted with their token.
TEST_P(Tokens, ImportedTokensAreFoundByPrefixWithTheirVerifier) {
  auto t = token("abcd-imported", alice);
  auto made = must(store->create_imported_token(t, "sha512:1:salt:digest"));
  auto expired = token("abcd-expired", bob);
  expired.expires_at = kEpoch - 1s;
  must(store->create_imported_token(expired, "sha512:1:salt2:digest2"));
  must(store->create_token(token("abcd-native", bob)));  // not imported: not listed

  auto found = must(store->find_imported_tokens("abcd"));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, made);
  EXPECT_EQ(found[0].second, "sha512:1:salt:digest");
  EXPECT_TRUE(must(store->find_imported_tokens("zzzz")).empty());
  EXPECT_EQ(store->create_imported_token(t, "sha512:1:salt:digest").error().code, Errc::conflict);

  EXPECT_TRUE(must(store->delete_token(made.id)));
  EXPECT_TRUE(must(store->find_imported_tokens("abcd")).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, Tokens, kBackends, backend_name);
