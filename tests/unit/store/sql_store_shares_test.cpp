// Shares, share codes and runtime services (migration 6, docs/sharing.md) on both back ends.
#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using namespace std::chrono_literals;

namespace {

class Shares : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);

  std::int64_t user(std::string const& name) { return must(store->create_user(name, false)).id; }
  static ShareTarget to_user(std::int64_t id) { return {ShareTarget::Kind::user, id}; }
  static ShareTarget to_group(std::int64_t id) { return {ShareTarget::Kind::group, id}; }

  ShareCodeRow code_row(std::int64_t owner, std::string const& raw, std::optional<std::int64_t> max = std::nullopt) {
    return ShareCodeRow{.owner_id = owner, .server_name = "", .code_hash = hash_of(raw), .prefix = raw.substr(0, 4),
                        .scopes = {"access:servers!server=alice/"}, .created = clock.now(),
                        .expires = clock.now() + 1h, .max_exchanges = max};
  }
};

}  // namespace

TEST_P(Shares, GrantMergesScopesAndRevokeRemovesThemOrTheShare) {
  auto alice = user("alice"), bob = user("bob");
  auto s = must(store->grant_share(alice, "", to_user(bob), {"access:servers!server=alice/"}, clock.now()));
  EXPECT_EQ(s.owner_name, "alice");
  EXPECT_EQ(s.user_name, "bob");
  EXPECT_FALSE(s.group_id);
  EXPECT_EQ(s.created, clock.now());
  // Granting again adds only what is new, once; the share keeps its id and creation time.
  clock.advance(5s);
  auto more = must(store->grant_share(alice, "", to_user(bob),
                                      {"servers!server=alice/", "access:servers!server=alice/"}, clock.now()));
  EXPECT_EQ(more.id, s.id);
  EXPECT_EQ(more.created, s.created);
  EXPECT_EQ(more.scopes, (std::vector<std::string>{"access:servers!server=alice/", "servers!server=alice/"}));
  // Revoking a scope it does not hold changes nothing; one it holds leaves the rest.
  auto left = must(store->revoke_share(alice, "", to_user(bob), std::vector<std::string>{"read:shares!server=alice/"}));
  ASSERT_TRUE(left);
  EXPECT_EQ(left->scopes.size(), 2u);
  left = must(store->revoke_share(alice, "", to_user(bob), std::vector<std::string>{"servers!server=alice/"}));
  ASSERT_TRUE(left);
  EXPECT_EQ(left->scopes, (std::vector<std::string>{"access:servers!server=alice/"}));
  // The last scope revoked deletes the share.
  EXPECT_FALSE(must(store->revoke_share(alice, "", to_user(bob), std::vector<std::string>{"access:servers!server=alice/"})));
  EXPECT_FALSE(must(store->find_share(alice, "", to_user(bob))));
  EXPECT_TRUE(must(store->shared_scopes_for_user(bob)).empty());
}

TEST_P(Shares, ScopesForAUserIncludeTheirGroupsSharesAndStopAtRevocation) {
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  auto lab = must(store->add_group("lab", {})).id;
  must(store->set_group_members("lab", {"bob"}));
  must(store->grant_share(alice, "", to_user(bob), {"access:servers!server=alice/"}, clock.now()));
  must(store->grant_share(carol, "gpu", to_group(lab), {"access:servers!server=carol/gpu"}, clock.now()));
  EXPECT_EQ(must(store->shared_scopes_for_user(bob)),
            (std::vector<std::string>{"access:servers!server=alice/", "access:servers!server=carol/gpu"}));
  EXPECT_TRUE(must(store->shared_scopes_for_user(carol)).empty());
  // Listed from every side.
  auto by_owner = must(store->list_shares({.owner_id = carol}, 0, 10));
  ASSERT_EQ(by_owner.second, 1);
  EXPECT_EQ(by_owner.first[0].group_name, "lab");
  EXPECT_EQ(by_owner.first[0].server_name, "gpu");
  EXPECT_EQ(must(store->list_shares({.owner_id = carol, .server_name = std::string{}}, 0, 10)).second, 0);
  auto with_bob = must(store->list_shares({.shared_with_user = bob}, 0, 10));
  EXPECT_EQ(with_bob.second, 2);
  auto page = must(store->list_shares({.shared_with_user = bob}, 1, 1));
  EXPECT_EQ(page.second, 2);
  ASSERT_EQ(page.first.size(), 1u);
  EXPECT_EQ(page.first[0].owner_name, "carol");
  EXPECT_EQ(must(store->list_shares({.shared_with_group = lab}, 0, 10)).second, 1);
  // Leaving the group loses its shares at once.
  must(store->set_group_members("lab", {}));
  EXPECT_EQ(must(store->shared_scopes_for_user(bob)), (std::vector<std::string>{"access:servers!server=alice/"}));
  // Deleting the server's shares, then the owner's.
  EXPECT_EQ(must(store->delete_shares_for_server(alice, std::string_view{})), 1);
  EXPECT_TRUE(must(store->shared_scopes_for_user(bob)).empty());
  EXPECT_EQ(must(store->delete_shares_for_server(carol, std::nullopt)), 1);
}

TEST_P(Shares, DeletingAUserOrGroupDeletesTheirShares) {
  auto alice = user("alice"), bob = user("bob");
  auto lab = must(store->add_group("lab", {})).id;
  must(store->grant_share(alice, "", to_user(bob), {"access:servers!server=alice/"}, clock.now()));
  must(store->grant_share(alice, "", to_group(lab), {"access:servers!server=alice/"}, clock.now()));
  must(store->delete_group("lab"));
  EXPECT_EQ(must(store->list_shares({.owner_id = alice}, 0, 10)).second, 1);
  must(store->delete_user("bob"));
  EXPECT_EQ(must(store->list_shares({.owner_id = alice}, 0, 10)).second, 0);
  must(store->create_user("bob2", false));
  must(store->grant_share(alice, "", to_user(must(store->get_user("bob2")).id), {"access:servers!server=alice/"}, clock.now()));
  must(store->delete_user("alice"));
  EXPECT_TRUE(must(store->shared_scopes_for_user(must(store->get_user("bob2")).id)).empty());
}

TEST_P(Shares, GrantToAnUnknownUserOrWithNoScopesIsRefused) {
  auto alice = user("alice");
  auto r = store->grant_share(alice, "", to_user(alice + 1000), {"access:servers!server=alice/"}, clock.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  auto e = store->grant_share(alice, "", to_user(alice), {}, clock.now());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::bad_request);
}

TEST_P(Shares, CodeExchangeGrantsCountsAndExpires) {
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  auto made = must(store->create_share_code(code_row(alice, "code-one-0123456789")));
  EXPECT_EQ(made.owner_name, "alice");
  EXPECT_EQ(made.exchange_count, 0);
  EXPECT_FALSE(made.last_exchanged);
  EXPECT_EQ(must(store->find_share_code(hash_of("code-one-0123456789"))).id, made.id);
  clock.advance(10s);
  auto share = must(store->exchange_share_code(hash_of("code-one-0123456789"), bob, clock.now()));
  EXPECT_EQ(share.user_name, "bob");
  EXPECT_EQ(share.scopes, (std::vector<std::string>{"access:servers!server=alice/"}));
  // Exchanged twice by one user counts twice, as JupyterHub; a second user gets their own share.
  must(store->exchange_share_code(hash_of("code-one-0123456789"), bob, clock.now()));
  must(store->exchange_share_code(hash_of("code-one-0123456789"), carol, clock.now()));
  auto after = must(store->find_share_code(hash_of("code-one-0123456789")));
  EXPECT_EQ(after.exchange_count, 3);
  EXPECT_EQ(after.last_exchanged, clock.now());
  EXPECT_EQ(must(store->list_shares({.owner_id = alice}, 0, 10)).second, 2);
  // Expired: neither found, nor exchanged, nor listed, then purged.
  clock.advance(1h);
  auto gone = store->find_share_code(hash_of("code-one-0123456789"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  auto late = store->exchange_share_code(hash_of("code-one-0123456789"), carol, clock.now());
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::not_found);
  EXPECT_EQ(must(store->list_share_codes(alice, std::nullopt, 0, 10)).second, 0);
  EXPECT_EQ(must(store->purge_expired_share_codes(clock.now())), 1);
}

TEST_P(Shares, CodeWithMaxExchangesIsUsedUp) {
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  must(store->create_share_code(code_row(alice, "once-only-code-0123", 1)));
  must(store->exchange_share_code(hash_of("once-only-code-0123"), bob, clock.now()));
  auto r = store->exchange_share_code(hash_of("once-only-code-0123"), carol, clock.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::forbidden);
  // Nothing of the refused exchange remains.
  EXPECT_FALSE(must(store->find_share(alice, "", to_user(carol))));
  EXPECT_EQ(must(store->find_share_code(hash_of("once-only-code-0123"))).exchange_count, 1);
}

TEST_P(Shares, ConcurrentExchangesOfACappedCodeNeverExceedTheCap) {
  auto alice = user("alice");
  std::vector<std::int64_t> users;
  for (int i = 0; i < 8; ++i) users.push_back(user("u" + std::to_string(i)));
  must(store->create_share_code(code_row(alice, "race-code-012345678", 3)));
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (auto id : users)
    threads.emplace_back([&, id] {
      if (store->exchange_share_code(hash_of("race-code-012345678"), id, clock.now())) ++won;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 3);
  EXPECT_EQ(must(store->find_share_code(hash_of("race-code-012345678"))).exchange_count, 3);
  EXPECT_EQ(must(store->list_shares({.owner_id = alice}, 0, 100)).second, 3);
}

TEST_P(Shares, CodesAreListedAndDeletedByIdHashOrAll) {
  auto alice = user("alice");
  auto a = must(store->create_share_code(code_row(alice, "code-a-000000000000")));
  must(store->create_share_code(code_row(alice, "code-b-000000000000")));
  auto c = code_row(alice, "code-c-000000000000");
  c.server_name = "gpu";
  must(store->create_share_code(c));
  EXPECT_EQ(must(store->list_share_codes(alice, std::nullopt, 0, 10)).second, 3);
  EXPECT_EQ(must(store->list_share_codes(alice, std::string_view{}, 0, 10)).second, 2);
  auto page = must(store->list_share_codes(alice, std::nullopt, 1, 1));
  EXPECT_EQ(page.first.size(), 1u);
  EXPECT_EQ(must(store->delete_share_codes(alice, "", a.id, std::nullopt)), 1);
  EXPECT_EQ(must(store->delete_share_codes(alice, "", std::nullopt, hash_of("code-c-000000000000"))), 0);  // another server's
  EXPECT_EQ(must(store->delete_share_codes(alice, "", std::nullopt, std::nullopt)), 1);
  EXPECT_EQ(must(store->list_share_codes(alice, std::nullopt, 0, 10)).second, 1);
  auto dup = store->create_share_code(c);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  auto raw = c;
  raw.code_hash = "not-a-hash";
  EXPECT_EQ(store->create_share_code(raw).error().code, Errc::bad_request);
}

TEST_P(Shares, RuntimeServicesAreKept) {
  boost::json::object spec{{"name", "announce"}, {"url", "http://127.0.0.1:9999"}, {"api_token_sha256", hash_of("t0k3n-announce")}};
  must(store->create_runtime_service({"announce", spec, clock.now()}));
  auto dup = store->create_runtime_service({"announce", spec, clock.now()});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  auto all = must(store->list_runtime_services());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].spec, spec);
  EXPECT_EQ(all[0].created, clock.now());
  EXPECT_TRUE(must(store->delete_runtime_service("announce")));
  EXPECT_FALSE(must(store->delete_runtime_service("announce")));
  EXPECT_TRUE(must(store->list_runtime_services()).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, Shares, kBackends, backend_name);
