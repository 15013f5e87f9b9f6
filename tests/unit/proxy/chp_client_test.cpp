// The pure parts of the configurable-http-proxy client (proxy/chp_client.hpp): route paths, and
// the route table's observer it hangs on. The client itself is tested against `nbhub proxy` in
// tests/integration/test_z2jh_mode.py.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/chp_client.hpp"

namespace nbhub::proxy {
namespace {

TEST(ChpClient, QuotesRoutePathsAsJupyterHub) {
  EXPECT_EQ(chp_route_path("/user/alice"), "/api/routes/user/alice");
  EXPECT_EQ(chp_route_path("/user/a b@x.org/gpu"), "/api/routes/user/a%20b@x.org/gpu");
  EXPECT_EQ(chp_route_path("/user/%"), "/api/routes/user/%25");
}

struct Recorder final : RouteObserver {
  std::vector<std::string> seen;
  void route_added(RoutePtr const& r) override { seen.push_back("+" + r->prefix()); }
  void route_removed(std::string const& p) override { seen.push_back("-" + p); }
};

TEST(RouteTable, ObserverSeesEveryPublishedChangeInOrder) {
  FakeClock clock{FakeClock::SysTime{std::chrono::seconds(1'700'000'000)}};
  RouteTable t(clock);
  Recorder rec;
  t.set_observer(&rec);
  ASSERT_TRUE(t.add("/user/alice/", "http://127.0.0.1:1", {}));
  ASSERT_TRUE(t.add("/", "http://127.0.0.1:2", {}));
  EXPECT_FALSE(t.add("/user/bob", "ftp://x", {}));  // refused: not published, not observed
  EXPECT_TRUE(t.remove("/user/alice"));
  EXPECT_FALSE(t.remove("/user/alice"));  // nothing changed
  t.set_observer(nullptr);
  ASSERT_TRUE(t.add("/user/carol", "http://127.0.0.1:3", {}));
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"+/user/alice", "+/", "-/user/alice"}));
}

}  // namespace
}  // namespace nbhub::proxy
