// The proxy over real loopback sockets: requests and headers, framing, keep-alive pooling,
// errors. See proxy_fixture.hpp for the backend's paths.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "proxy_fixture.hpp"

namespace nbhub::proxy::test {
namespace {

using namespace std::chrono_literals;

class ProxyHttp : public ProxyModes {};
INSTANTIATE_TEST_SUITE_P(Threads, ProxyHttp, ::testing::Values(1, 2), mode_name);

TEST_P(ProxyHttp, ForwardsGetWithFullPathHostAndForwardedHeaders) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {{"user", "alice"}}));
  auto s = h.connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/user/alice/api/contents?token=abc", 11};
  req.set(bhttp::field::host, "hub.example:8443");
  req.set("X-Forwarded-For", "203.0.113.7");  // from an untrusted client: kept, peer appended
  req.set(bhttp::field::connection, "keep-alive, X-Hop");
  req.set("X-Hop", "secret");
  auto res = h.request(s, std::move(req));
  EXPECT_EQ(res.result_int(), 200);
  auto seen = h.backend().last();
  EXPECT_EQ(seen.target, "/user/alice/api/contents?token=abc");
  EXPECT_EQ(seen.header("host"), "hub.example:8443");
  EXPECT_EQ(seen.header("x-forwarded-for"), "203.0.113.7, 127.0.0.1");
  EXPECT_EQ(seen.header("x-forwarded-proto"), "http");
  EXPECT_EQ(seen.header("x-forwarded-host"), "hub.example:8443");
  EXPECT_EQ(seen.header("x-forwarded-port"), "8443");
  EXPECT_EQ(seen.headers.count("x-hop"), 0u);
  // The access line names the route and never the query.
  auto line = h.access_line_with("GET /user/alice/api/contents 200");
  EXPECT_NE(line.find("route=/user/alice"), std::string::npos) << line;
  EXPECT_EQ(line.find("token"), std::string::npos) << line;
}

// Issue 18: `nbhub proxy` (Forwarded::appended) passes the client's X-Forwarded-Host on and
// appends to -For/-Proto/-Port, as CHP; Host is the browser's in both modes.
TEST_P(ProxyHttp, ChpModeKeepsTheClientsForwardedHost) {
  auto cfg = test_config();
  cfg.forwarded = ProxyConfig::Forwarded::appended;
  ProxyHarness h(cfg, nullptr, threads());
  ASSERT_TRUE(h.routes().add("/hub", h.backend().url(), {}));
  auto s = h.connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/hub/api/users", 11};
  req.set(bhttp::field::host, "127.0.0.1:8000");
  req.set("X-Forwarded-Host", "fake.example");
  req.set("X-Forwarded-Proto", "https");
  auto res = h.request(s, std::move(req));
  EXPECT_EQ(res.result_int(), 200);
  auto seen = h.backend().last();
  EXPECT_EQ(seen.header("host"), "127.0.0.1:8000");
  EXPECT_EQ(seen.header("x-forwarded-host"), "fake.example");
  EXPECT_EQ(seen.header("x-forwarded-proto"), "https,http");
  EXPECT_EQ(seen.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(seen.header("x-forwarded-port"), "8000");
}

// Issue 18: a route the CHP API stored with a target nbhub cannot relay to answers 502.
TEST_P(ProxyHttp, UnrelayableTargetAnswers502) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/x", "https://127.0.0.1:1", {}, UnrelayableTarget::store));
  auto res = h.get("/user/x/api/status", "application/json");
  EXPECT_EQ(res.result_int(), 502);
  EXPECT_NE(res.body().find("/user/x"), std::string::npos) << res.body();
}

// Issue 18: users named like e-mail addresses or with non-ASCII letters, routed under the
// prefixes the hub builds (escaped names, route_key_for_url_path).
TEST_P(ProxyHttp, RoutesEscapedUserNames) {
  ProxyHarness h(test_config(), nullptr, threads());
  auto& routes = h.routes();
  ASSERT_TRUE(routes.add(route_key_for_url_path("/user/alice%40example.org/"), h.backend().url("/a"), {}));
  ASSERT_TRUE(routes.add(route_key_for_url_path("/user/j%C3%BCrgen/"), h.backend().url("/j"), {}));
  EXPECT_EQ(h.get("/user/alice%40example.org/api/status").result_int(), 200);
  EXPECT_EQ(h.backend().last().target, "/a/user/alice%40example.org/api/status");
  EXPECT_EQ(h.get("/user/alice@example.org/lab").result_int(), 200);
  EXPECT_EQ(h.backend().last().target, "/a/user/alice@example.org/lab");
  EXPECT_EQ(h.get("/user/j%C3%BCrgen/lab").result_int(), 200);
  EXPECT_EQ(h.backend().last().target, "/j/user/j%C3%BCrgen/lab");
}

TEST_P(ProxyHttp, PrependsTargetPath) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/services/cull", h.backend().url("/svc/"), {}));
  auto res = h.get("/services/cull/health?x=1");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(h.backend().last().target, "/svc/services/cull/health?x=1");
}

TEST_P(ProxyHttp, PostBodyReachesUpstream) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/user/alice/api/sessions", 11};
  req.body() = std::string(100'000, 'x');
  req.set(bhttp::field::expect, "100-continue");  // answered by the proxy
  auto res = h.request(s, std::move(req));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(h.interim_, std::vector<unsigned>{100});
  auto seen = h.backend().last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body_bytes, 100'000u);
  EXPECT_EQ(seen.headers.count("expect"), 0u);
  std::string body(100'000, 'x');
  EXPECT_EQ(seen.body_hash, fnv1a(kFnvSeed, body.data(), body.size()));
}

TEST_P(ProxyHttp, RelaysChunkedResponse) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto res = h.get("/user/alice/chunked");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "hello, world");
  EXPECT_TRUE(res.chunked());
}

TEST_P(ProxyHttp, RechunksABodyDelimitedByClose) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/user/alice/close", 11};
  auto res = h.request(s, req);
  EXPECT_EQ(res.body(), "until the end");
  EXPECT_TRUE(res.chunked());
  EXPECT_TRUE(res.keep_alive());  // the client connection survives the upstream's close
  res = h.request(s, bhttp::request<bhttp::string_body>{bhttp::verb::get, "/user/alice/hello", 11});
  EXPECT_EQ(res.body(), "hello");
}

TEST_P(ProxyHttp, DropsHopByHopFieldsOfTheResponse) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto res = h.get("/user/alice/hop");
  EXPECT_EQ(res.body(), "hop");
  EXPECT_EQ(res["X-End-To-End"], "yes");
  EXPECT_EQ(res.count("X-Backend-Hop"), 0u);  // named by the upstream's Connection
  EXPECT_EQ(res.count(bhttp::field::keep_alive), 0u);
  EXPECT_TRUE(res.keep_alive());
}

TEST_P(ProxyHttp, Http10ClientGetsAChunkedBodyRaw) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  std::string req = "GET /user/alice/chunked HTTP/1.0\r\nHost: hub.example\r\n\r\n";
  net::write(s, net::buffer(req));
  std::string all;
  beast::error_code ec;
  char buf[4096];
  for (;;) {  // HTTP/1.0: the body ends when the proxy closes
    auto n = s.read_some(net::buffer(buf), ec);
    all.append(buf, n);
    if (ec) break;
  }
  EXPECT_TRUE(all.starts_with("HTTP/1.0 200 OK\r\n")) << all;
  EXPECT_EQ(all.find("Transfer-Encoding"), std::string::npos) << all;
  EXPECT_TRUE(all.ends_with("\r\n\r\nhello, world")) << all;
}

TEST_P(ProxyHttp, HeadResponseHasNoBody) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  bhttp::request<bhttp::empty_body> req{bhttp::verb::head, "/user/alice/hello", 11};
  req.set(bhttp::field::host, "x");
  bhttp::write(s, req);
  beast::flat_buffer b;
  bhttp::response_parser<bhttp::empty_body> p;
  p.skip(true);
  bhttp::read(s, b, p);
  EXPECT_EQ(p.get().result_int(), 200);
  EXPECT_EQ(p.get()[bhttp::field::content_length], "5");
  // The connection is still in step: the next response parses.
  auto res = h.request(s, bhttp::request<bhttp::string_body>{bhttp::verb::get, "/user/alice/hello", 11});
  EXPECT_EQ(res.body(), "hello");
}

TEST_P(ProxyHttp, KeepAliveReusesOneUpstreamConnection) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  for (int i = 0; i < 3; ++i) {
    auto res = h.request(s, bhttp::request<bhttp::string_body>{bhttp::verb::get, "/user/alice/hello", 11});
    ASSERT_EQ(res.result_int(), 200);
  }
  EXPECT_EQ(h.backend().connections(), 1);
  // New client connections (other strands) take the parked connection too.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(h.get("/user/alice/hello").result_int(), 200);
  EXPECT_EQ(h.backend().connections(), 1);
  EXPECT_EQ(h.proxy().pool().connects(), 1u);
  EXPECT_EQ(h.proxy().pool().idle_count(), 1u);
}

// Requests on interleaved keep-alive connections, with bodies both ways, must not cross; with
// one thread the connections share it without strands (`nbhub proxy --threads 1`).
TEST_P(ProxyHttp, InterleavedConnectionsDoNotCross) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  std::vector<tcp::socket> conns;
  for (int i = 0; i < 4; ++i) conns.push_back(h.connect());
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < conns.size(); ++i) {
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/user/alice/echo", 11};
      req.body() = "round " + std::to_string(round) + " conn " + std::to_string(i);
      auto res = h.request(conns[i], req);
      ASSERT_EQ(res.result_int(), 200);
      EXPECT_TRUE(res.keep_alive());
      EXPECT_EQ(h.backend().last().body_prefix, req.body());
    }
  }
  EXPECT_EQ(h.proxy().pool().connects(), 1u);  // one at a time: one upstream connection
  auto unclaimed = h.get("/hub/home");
  EXPECT_EQ(unclaimed.result_int(), 404);
  EXPECT_NE(unclaimed.body().find("served by the hub router"), std::string::npos);
}

TEST_P(ProxyHttp, UpstreamDownAnswers503JsonForApiRequests) {
  ProxyHarness h(test_config(), nullptr, threads());
  auto port = closed_port();
  ASSERT_TRUE(h.routes().add("/user/bob", "http://127.0.0.1:" + std::to_string(port), {{"user", "bob"}}));
  auto res = h.get("/user/bob/api/kernels");
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(res[bhttp::field::content_type].substr(0, 16), "application/json");
  auto body = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(body.at("status").as_int64(), 503);
  EXPECT_NE(std::string(body.at("message").as_string()).find("/user/bob"), std::string::npos);
  EXPECT_TRUE(res.keep_alive());

  auto page = h.get("/user/bob/lab", "text/html");
  EXPECT_EQ(page.result_int(), 503);
  EXPECT_EQ(page[bhttp::field::content_type].substr(0, 9), "text/html");
  EXPECT_EQ(h.proxy().stats().upstream_errors.load(), 2u);
}

TEST_P(ProxyHttp, ErrorResponderReplacesThePage) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(
      h.routes().add("/user/bob", "http://127.0.0.1:" + std::to_string(closed_port()), {{"user", "bob"}}));
  h.proxy().set_error_responder([](UpstreamError e) -> net::awaitable<http::Response> {
    co_return http::html_response(e.status, "hub page for " + std::string(e.data.at("user").as_string()) +
                                                " at " + std::string(e.request.target()));
  });
  auto res = h.get("/user/bob/tree?x=1");
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(res.body(), "hub page for bob at /user/bob/tree?x=1");
}

TEST_P(ProxyHttp, SlowUpstreamAnswers504) {
  // response_header_timeout is 1 s, /slow answers after 2 s
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto t0 = std::chrono::steady_clock::now();
  auto res = h.get("/user/alice/api/slow");
  EXPECT_EQ(res.result_int(), 504);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1900ms);
}

TEST_P(ProxyHttp, HubModeClaimsOnlyConfiguredPrefixes) {
  auto cfg = test_config();
  cfg.claim_default_route = false;
  cfg.claim_prefixes = {"/user/", "/services/"};
  ProxyHarness h(cfg, nullptr, threads());
  ASSERT_TRUE(h.routes().add("/", h.backend().url(), {{"hub", true}}));
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  ASSERT_TRUE(h.routes().add("/extra", h.backend().url(), {}));
  EXPECT_EQ(h.get("/user/alice/x").body(), "GET /user/alice/x 0 " + std::to_string(kFnvSeed));
  // Not a route of ours: the hub's router answers.
  EXPECT_NE(h.get("/user/alicex/lab").body().find("hub router"), std::string::npos);
  EXPECT_NE(h.get("/hub/login").body().find("hub router"), std::string::npos);
  EXPECT_NE(h.get("/extra/x").body().find("hub router"), std::string::npos);
}

TEST_P(ProxyHttp, RoutesWithEscapedNamesMatchDecoded) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/a@b", h.backend().url(), {}));
  auto res = h.get("/user/a%40b/lab");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(h.backend().last().target, "/user/a%40b/lab");  // forwarded as received
}

TEST_P(ProxyHttp, RecordsActivityOnTheRoute) {
  FakeClock clock{FakeClock::SysTime(std::chrono::seconds(1'700'000'000))};
  auto t0 = clock.now();
  ProxyHarness h(test_config(), &clock, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {{"user", "alice"}}));
  clock.advance(10s);
  ASSERT_EQ(h.get("/user/alice/hello").result_int(), 200);
  auto active = h.routes().activity_since(t0);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].last_activity, t0 + 10s);
}

}  // namespace
}  // namespace nbhub::proxy::test
