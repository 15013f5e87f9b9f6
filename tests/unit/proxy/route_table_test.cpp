#include "proxy/route_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "proxy/forwarded_headers.hpp"

namespace nbhub::proxy {
namespace {

using namespace std::chrono_literals;

FakeClock::SysTime const kEpoch{std::chrono::seconds(1'700'000'000)};

std::string found(RouteTable const& t, std::string_view path) {
  auto r = t.snapshot()->find(path);
  return r ? r->prefix() : "(none)";
}

TEST(RouteTable, MatchesLongestPrefixBySegment) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/user/alice", "http://127.0.0.1:9001", {}));
  ASSERT_TRUE(t.add("/user/alice/gpu", "http://127.0.0.1:9002", {}));
  ASSERT_TRUE(t.add("/services/cull/", "http://127.0.0.1:9003", {}));
  EXPECT_EQ(found(t, "/user/alice"), "/user/alice");
  EXPECT_EQ(found(t, "/user/alice/"), "/user/alice");
  EXPECT_EQ(found(t, "/user/alice/lab/tree/a/b/c"), "/user/alice");
  EXPECT_EQ(found(t, "/user/alice/gpu"), "/user/alice/gpu");
  EXPECT_EQ(found(t, "/user/alice/gpu/api/kernels"), "/user/alice/gpu");
  EXPECT_EQ(found(t, "/user/alice/gpux"), "/user/alice");
  EXPECT_EQ(found(t, "/services/cull/x"), "/services/cull");
  // Segment-wise, not string-wise.
  EXPECT_EQ(found(t, "/user/alicex"), "(none)");
  EXPECT_EQ(found(t, "/user/alicex/lab"), "(none)");
  EXPECT_EQ(found(t, "/user"), "(none)");
  EXPECT_EQ(found(t, "/"), "(none)");
  EXPECT_EQ(found(t, ""), "(none)");
}

TEST(RouteTable, DefaultRouteCatchesTheRest) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/", "http://127.0.0.1:8081", {{"hub", true}}));
  ASSERT_TRUE(t.add("/user/alice", "http://127.0.0.1:9001", {}));
  EXPECT_EQ(found(t, "/user/alicex"), "/");
  EXPECT_EQ(found(t, "/hub/login"), "/");
  EXPECT_EQ(found(t, "/"), "/");
  EXPECT_EQ(found(t, "/user/alice/x"), "/user/alice");
  EXPECT_TRUE(t.snapshot()->find("/")->is_default());
  EXPECT_TRUE(t.remove("/"));
  EXPECT_EQ(found(t, "/hub/login"), "(none)");
}

TEST(RouteTable, NormalisesPrefixesLikeChp) {
  EXPECT_EQ(normalize_prefix(""), "/");
  EXPECT_EQ(normalize_prefix("/"), "/");
  EXPECT_EQ(normalize_prefix("user/alice/"), "/user/alice");
  EXPECT_EQ(normalize_prefix("/user/alice//"), "/user/alice");
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/user/alice/", "http://127.0.0.1:9001", {}));
  EXPECT_TRUE(t.get("/user/alice"));
  EXPECT_TRUE(t.get("user/alice/"));
  EXPECT_FALSE(t.remove("/user/bob"));
  EXPECT_TRUE(t.remove("/user/alice/"));
  EXPECT_FALSE(t.get("/user/alice"));
}

TEST(RouteTable, ReplacingARouteKeepsOneEntry) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/user/alice", "http://127.0.0.1:9001", {{"user", "alice"}}));
  ASSERT_TRUE(t.add("/user/alice", "http://127.0.0.1:9009", {{"user", "alice"}}));
  EXPECT_EQ(t.snapshot()->size(), 1u);
  EXPECT_EQ(t.get("/user/alice")->target().port, 9009);
}

TEST(RouteTable, ParsesTargets) {
  auto t = parse_target("http://127.0.0.1:8888");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8888);
  EXPECT_EQ(t->path, "");
  EXPECT_EQ(t->key, "127.0.0.1:8888");
  t = parse_target("http://[::1]:9/base/");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->path, "/base");
  t = parse_target("http://localhost");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, 80);
  EXPECT_FALSE(parse_target("https://127.0.0.1:1"));
  EXPECT_FALSE(parse_target("127.0.0.1:8888"));
  EXPECT_FALSE(parse_target("http://u:p@127.0.0.1:1"));
  EXPECT_FALSE(parse_target("http://127.0.0.1:99999"));
  FakeClock clock{kEpoch};
  RouteTable table{clock};
  auto bad = table.add("/user/x", "ftp://nope", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_NE(bad.error().message.find("ftp://nope"), std::string::npos);
}

// Issue 18: the CHP REST API stores targets nbhub cannot relay to (CHP stores any string);
// the hub's own routes still refuse them.
TEST(RouteTable, StoresUnrelayableTargetsOnlyWhenAsked) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  EXPECT_FALSE(t.add("/has/@", "https://localhost:1234", {}));
  auto r = t.add("/has/@", "https://localhost:1234", {}, UnrelayableTarget::store);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->target().url, "https://localhost:1234");
  EXPECT_NE((*r)->target().unrelayable.find("https"), std::string::npos);
  EXPECT_EQ(t.snapshot()->find("/has/@/x"), r->get());
  auto ok = t.add("/user/a", "http://127.0.0.1:1", {}, UnrelayableTarget::store);
  ASSERT_TRUE(ok);
  EXPECT_TRUE((*ok)->target().unrelayable.empty());
}

// Issue 18: the hub builds /user/<escaped name>/; requests are matched decoded, so the key
// must be decoded too, or alice@example.org and jürgen never reach their servers.
TEST(RouteTable, KeysForEscapedUrlPathsMatchDecodedRequests) {
  EXPECT_EQ(route_key_for_url_path("/user/alice%40example.org/"), "/user/alice@example.org");
  EXPECT_EQ(route_key_for_url_path("/user/j%C3%BCrgen/"), "/user/jürgen");
  EXPECT_EQ(route_key_for_url_path("/@/space%20word/user/x/"), "/@/space word/user/x");
  EXPECT_EQ(route_key_for_url_path("/user/100%/"), "/user/100%");  // a stray '%' stays
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add(route_key_for_url_path("/user/alice%40example.org/"), "http://127.0.0.1:1", {}));
  ASSERT_TRUE(t.add(route_key_for_url_path("/user/j%C3%BCrgen/"), "http://127.0.0.1:2", {}));
  std::string scratch;
  auto const* a = t.snapshot()->find(decoded_path("/user/alice%40example.org/lab?x=%40", scratch));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->target().port, 1);
  auto const* j = t.snapshot()->find(decoded_path("/user/j%c3%bcrgen/api/kernels", scratch));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->target().port, 2);
  EXPECT_FALSE(t.snapshot()->find(decoded_path("/user/alice%2540example.org/", scratch)));
}

TEST(RouteTable, ActivityIsStampedAtMostOncePerSecondAndOnlyForward) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  auto r = t.add("/user/alice", "http://127.0.0.1:9001", {{"user", "alice"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->last_activity(), kEpoch);
  (*r)->touch(kEpoch + 500ms);
  EXPECT_EQ((*r)->last_activity(), kEpoch);
  (*r)->touch(kEpoch + 2s);
  EXPECT_EQ((*r)->last_activity(), kEpoch + 2s);
  (*r)->touch(kEpoch - 10s);
  EXPECT_EQ((*r)->last_activity(), kEpoch + 2s);

  auto active = t.activity_since(kEpoch + 1s);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].prefix, "/user/alice");
  EXPECT_EQ(active[0].data.at("user").as_string(), "alice");
  EXPECT_TRUE(t.activity_since(kEpoch + 2s).empty());
  EXPECT_EQ(t.inactive_since(kEpoch + 3s).size(), 1u);
  EXPECT_TRUE(t.inactive_since(kEpoch + 2s).empty());
}

TEST(RouteTable, ActivitySurvivesUnrelatedTableSwaps) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/user/alice", "http://127.0.0.1:9001", {}));
  t.snapshot()->find("/user/alice/x")->touch(kEpoch + 5s);
  ASSERT_TRUE(t.add("/user/bob", "http://127.0.0.1:9002", {}));
  EXPECT_TRUE(t.remove("/user/bob"));
  EXPECT_EQ(t.get("/user/alice")->last_activity(), kEpoch + 5s);
}

TEST(RouteTable, SnapshotsStayValidAcrossConcurrentWrites) {
  SystemClock clock;
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/user/stable", "http://127.0.0.1:9000", {}));
  std::atomic<bool> stop{false};
  std::atomic<long> lookups{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto snap = t.snapshot();
        auto r = snap->find("/user/stable/lab");
        if (!r || r->prefix() != "/user/stable") ++wrong;
        r->touch(clock.now());
        // A churned route is either fully there or absent in one snapshot.
        auto c = snap->find("/user/churn7/x");
        if (c && c->prefix() != "/user/churn7") ++wrong;
        ++lookups;
      }
    });
  }
  std::thread writer([&] {
    // On a loaded machine the readers may not have run yet; the writes must overlap them.
    while (lookups.load() < 3) std::this_thread::yield();
    for (int i = 0; i < 2000; ++i) {
      auto p = "/user/churn" + std::to_string(i % 10);
      if (!t.add(p, "http://127.0.0.1:9001", {})) ++wrong;
      if (i % 3 == 0) t.remove(p);
    }
  });
  writer.join();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(lookups.load(), 0);
}

// Issue 24 (bench/stress): each add copied the whole table, so 100,000 routes through the
// CHP API took minutes. An add copies the one shard its prefix falls in: a route elsewhere is
// referenced by only the few snapshots whose add touched its shard.
TEST(RouteTable, AnAddCopiesOneShardNotTheTable) {
  SystemClock clock;
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/user/watched", "http://127.0.0.1:9000", {}));
  auto watched = t.get("/user/watched");
  auto const before = watched.use_count();
  std::vector<RouteTable::SnapshotPtr> kept;
  constexpr int kAdds = 4 * static_cast<int>(RouteTable::Snapshot::kShards);
  for (int i = 0; i < kAdds; ++i) {
    ASSERT_TRUE(t.add("/user/u" + std::to_string(i), "http://127.0.0.1:9001", {}));
    kept.push_back(t.snapshot());
  }
  EXPECT_EQ(kept.back()->size(), static_cast<std::size_t>(kAdds + 1));
  // A whole-table copy would hold `watched` once per kept snapshot (kAdds); about
  // kAdds / kShards adds land in its shard.
  EXPECT_LT(watched.use_count() - before, kAdds / 8);
  EXPECT_EQ(found(t, "/user/watched/lab"), "/user/watched");
  for (int i = 0; i < kAdds; i += 97) EXPECT_EQ(found(t, "/user/u" + std::to_string(i) + "/x"), "/user/u" + std::to_string(i));
}

TEST(RouteTable, SizeDepthAndDefaultFollowAddsAndRemoves) {
  FakeClock clock{kEpoch};
  RouteTable t{clock};
  ASSERT_TRUE(t.add("/", "http://127.0.0.1:9000", {}));
  ASSERT_TRUE(t.add("/a", "http://127.0.0.1:9001", {}));
  ASSERT_TRUE(t.add("/a/b/c", "http://127.0.0.1:9002", {}));
  ASSERT_TRUE(t.add("/a/b/c", "http://127.0.0.1:9003", {}));  // replaced: still three
  EXPECT_EQ(t.snapshot()->size(), 3u);
  EXPECT_EQ(found(t, "/a/b/c/d/e"), "/a/b/c");
  EXPECT_TRUE(t.remove("/a/b/c"));
  EXPECT_FALSE(t.remove("/a/b/c"));
  EXPECT_EQ(t.snapshot()->size(), 2u);
  EXPECT_EQ(found(t, "/a/b/c/d/e"), "/a");
  ASSERT_TRUE(t.add("/a/b/c", "http://127.0.0.1:9004", {}));  // the depth counts again
  EXPECT_EQ(found(t, "/a/b/c/d/e"), "/a/b/c");
  EXPECT_TRUE(t.remove("/"));
  EXPECT_EQ(found(t, "/elsewhere"), "(none)");
  EXPECT_EQ(t.snapshot()->routes().size(), 2u);
}

TEST(ForwardedHeaders, DecodesPathsOnlyWhenEscaped) {
  std::string scratch;
  EXPECT_EQ(decoded_path("/user/alice/lab?token=x", scratch), "/user/alice/lab");
  EXPECT_EQ(decoded_path("/user/a%40b/lab", scratch), "/user/a@b/lab");
  EXPECT_EQ(decoded_path("/user/space%20word/%zz%", scratch), "/user/space word/%zz%");
}

TEST(ForwardedHeaders, StripsHopByHopFields) {
  bhttp::fields f;
  f.set(bhttp::field::connection, "keep-alive, X-Hop");
  f.set("X-Hop", "1");
  f.set(bhttp::field::keep_alive, "timeout=5");
  f.set(bhttp::field::te, "trailers");
  f.set(bhttp::field::upgrade, "h2c");
  f.set(bhttp::field::transfer_encoding, "chunked");
  f.set("X-End-To-End", "1");
  strip_hop_by_hop(f, false);
  EXPECT_EQ(f.count("X-Hop"), 0u);
  EXPECT_EQ(f.count(bhttp::field::connection), 0u);
  EXPECT_EQ(f.count(bhttp::field::keep_alive), 0u);
  EXPECT_EQ(f.count(bhttp::field::te), 0u);
  EXPECT_EQ(f.count(bhttp::field::upgrade), 0u);
  EXPECT_EQ(f[bhttp::field::transfer_encoding], "chunked");  // framing is re-applied, not dropped
  EXPECT_EQ(f["X-End-To-End"], "1");

  bhttp::fields ws;
  ws.set(bhttp::field::connection, "Upgrade");
  ws.set(bhttp::field::upgrade, "websocket");
  strip_hop_by_hop(ws, true);
  EXPECT_EQ(ws[bhttp::field::connection], "Upgrade");
  EXPECT_EQ(ws[bhttp::field::upgrade], "websocket");
}

TEST(ForwardedHeaders, WritesTheUpstreamHead) {
  Route r{"/user/alice", *parse_target("http://127.0.0.1:1/base"), {}, kEpoch};
  http::ClientView client{"10.0.0.9", "hub.example:8443", true, 1};
  auto run = [&](ProxyConfig cfg, std::string target) {
    bhttp::request_header<> h;
    h.method(bhttp::verb::get);
    h.target(target);
    h.set(bhttp::field::host, "hub.example:8443");
    h.set("X-Forwarded-For", "203.0.113.7");
    h.set("X-Forwarded-Proto", "gopher");  // replaced, not appended
    h.set(bhttp::field::connection, "keep-alive, X-Hop");
    h.set("X-Hop", "1");
    h.set(bhttp::field::expect, "100-continue");
    char scratch[64];  // small on purpose: the head spills to the heap
    HeadBuffer out(scratch, sizeof scratch);
    write_upstream_request(h, r, cfg, client, "10.0.0.9", false, out);
    return std::string(out.view());
  };
  ProxyConfig cfg;
  auto head = run(cfg, "/user/alice/lab?x=1");
  EXPECT_EQ(head,
            "GET /base/user/alice/lab?x=1 HTTP/1.1\r\n"
            "Host: hub.example:8443\r\n"
            "X-Forwarded-For: 203.0.113.7, 10.0.0.9\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Forwarded-Host: hub.example:8443\r\n"
            "X-Forwarded-Port: 8443\r\n"
            "\r\n");
  cfg.include_prefix = false;
  EXPECT_TRUE(run(cfg, "/user/alice/lab?x=1").starts_with("GET /base/lab?x=1 HTTP/1.1\r\n"));
  EXPECT_TRUE(run(cfg, "/user/alice?x=1").starts_with("GET /base/?x=1 HTTP/1.1\r\n"));
  cfg.prepend_path = false;
  EXPECT_TRUE(run(cfg, "/user/alice/lab").starts_with("GET /lab HTTP/1.1\r\n"));
  ProxyConfig plain;
  plain.x_forward = false;
  plain.custom_headers = {{"X-Custom", "yes"}};
  EXPECT_EQ(run(plain, "/user/alice/"),
            "GET /base/user/alice/ HTTP/1.1\r\nHost: hub.example:8443\r\nX-Forwarded-For: 203.0.113.7\r\n"
            "X-Forwarded-Proto: gopher\r\nX-Custom: yes\r\n\r\n");
}

// Issue 18: `nbhub proxy` sends X-Forwarded-* as CHP (node-http-proxy with xfwd): the
// client's X-Forwarded-Host survives (JupyterHub's forwarded_host_header reads it for its
// same-origin check), -For/-Port/-Proto get ours appended with ",", and Host is kept.
TEST(ForwardedHeaders, AppendsLikeChpInChpMode) {
  Route r{"/hub", *parse_target("http://127.0.0.1:1"), {}, kEpoch};
  http::ClientView client{"127.0.0.1", "127.0.0.1:8000", false, 1};
  ProxyConfig cfg;
  cfg.forwarded = ProxyConfig::Forwarded::appended;
  auto run = [&](bool websocket, auto&& fill) {
    bhttp::request_header<> h;
    h.method(bhttp::verb::get);
    h.target("/hub/api/users");
    h.set(bhttp::field::host, "127.0.0.1:8000");
    fill(h);
    char scratch[512];
    HeadBuffer out(scratch, sizeof scratch);
    write_upstream_request(h, r, cfg, client, "127.0.0.1", websocket, out);
    return std::string(out.view());
  };
  auto head = run(false, [](auto& h) {
    h.set("X-Forwarded-Host", "fake.example");
    h.set("X-Forwarded-Proto", "https");
    h.set("X-Scheme", "https");
    h.set("X-Forwarded-For", "203.0.113.7");
    h.insert("X-Forwarded-For", "198.51.100.1");
  });
  EXPECT_EQ(head,
            "GET /hub/api/users HTTP/1.1\r\n"
            "Host: 127.0.0.1:8000\r\n"
            "X-Scheme: https\r\n"
            "X-Forwarded-For: 203.0.113.7, 198.51.100.1,127.0.0.1\r\n"
            "X-Forwarded-Port: 8000\r\n"
            "X-Forwarded-Proto: https,http\r\n"
            "X-Forwarded-Host: fake.example\r\n"
            "\r\n");
  EXPECT_EQ(run(false, [](auto&) {}),
            "GET /hub/api/users HTTP/1.1\r\n"
            "Host: 127.0.0.1:8000\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n"
            "X-Forwarded-Port: 8000\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: 127.0.0.1:8000\r\n"
            "\r\n");
  // WebSockets: ws/wss, and no X-Forwarded-Host added (node-http-proxy's ws pass).
  auto ws = run(true, [](auto& h) {
    h.set(bhttp::field::connection, "Upgrade");
    h.set(bhttp::field::upgrade, "websocket");
  });
  EXPECT_NE(ws.find("X-Forwarded-Proto: ws\r\n"), std::string::npos) << ws;
  EXPECT_EQ(ws.find("X-Forwarded-Host"), std::string::npos) << ws;
  EXPECT_NE(ws.find("Host: 127.0.0.1:8000\r\n"), std::string::npos) << ws;
}

}  // namespace
}  // namespace nbhub::proxy
