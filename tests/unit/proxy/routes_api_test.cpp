// CHP's REST API (spec §6.2) served by a real listener, driven over loopback.
#include "proxy/routes_api.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "proxy_fixture.hpp"

namespace nbhub::proxy::test {
namespace {

using namespace std::chrono_literals;
FakeClock::SysTime const kT0{std::chrono::seconds(1'700'000'000)};  // 2023-11-14T22:13:20Z

class RoutesApiTest : public ::testing::Test {
 protected:
  RoutesApiTest()
      : clock_(kT0),
        log_("api", std::make_shared<spdlog::sinks::null_sink_mt>()),
        routes_(clock_),
        api_(routes_, Secret("s3cret-token"), log_) {
    api_.install(router_);
    listener_ = std::make_shared<http::Listener>(ioc_, router_, http::ListenerOptions{}, log_, log_);
    listener_->bind("127.0.0.1", 0);
    listener_->start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~RoutesApiTest() override {
    ioc_.stop();
    thread_.join();
  }

  bhttp::response<bhttp::string_body> call(bhttp::verb v, std::string target, std::string body = "",
                                           std::string auth = "token s3cret-token") {
    net::io_context c;
    tcp::socket s(c);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), listener_->port()));
    bhttp::request<bhttp::string_body> req{v, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!auth.empty()) req.set(bhttp::field::authorization, auth);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(s, req);
    beast::flat_buffer b;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, b, res);
    return res;
  }

  net::io_context ioc_;
  FakeClock clock_;
  spdlog::logger log_;
  RouteTable routes_;
  RoutesApi api_;
  http::Router router_;
  std::shared_ptr<http::Listener> listener_;
  std::thread thread_;
};

TEST_F(RoutesApiTest, RequiresTheToken) {
  EXPECT_EQ(call(bhttp::verb::get, "/api/routes", "", "").result_int(), 403);
  EXPECT_EQ(call(bhttp::verb::get, "/api/routes", "", "token wrong").result_int(), 403);
  EXPECT_EQ(call(bhttp::verb::get, "/api/routes", "", "Bearer s3cret-token").result_int(), 403);
  EXPECT_EQ(call(bhttp::verb::post, "/api/routes/user/x", R"({"target":"http://127.0.0.1:1"})", "token nope")
                .result_int(),
            403);
  EXPECT_TRUE(routes_.snapshot()->size() == 0);
  EXPECT_EQ(call(bhttp::verb::get, "/api/routes", "", "Token s3cret-token").result_int(), 200);
}

TEST_F(RoutesApiTest, AddsListsGetsAndDeletesRoutesLikeChp) {
  auto res =
      call(bhttp::verb::post, "/api/routes/user/alice/",
           R"({"target": "http://127.0.0.1:53211", "user": "alice", "server_name": "", "jupyterhub": true})");
  EXPECT_EQ(res.result_int(), 201);
  ASSERT_TRUE(routes_.get("/user/alice"));
  EXPECT_EQ(routes_.get("/user/alice")->data().at("user").as_string(), "alice");

  res = call(bhttp::verb::get, "/api/routes");
  ASSERT_EQ(res.result_int(), 200);
  auto all = boost::json::parse(res.body()).as_object();
  ASSERT_TRUE(all.contains("/user/alice"));
  auto const& r = all.at("/user/alice").as_object();
  EXPECT_EQ(r.at("target").as_string(), "http://127.0.0.1:53211");
  EXPECT_EQ(r.at("user").as_string(), "alice");
  EXPECT_EQ(r.at("jupyterhub").as_bool(), true);
  EXPECT_EQ(r.at("last_activity").as_string(), "2023-11-14T22:13:20.000Z");

  res = call(bhttp::verb::get, "/api/routes/user/alice");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(boost::json::parse(res.body()).at("server_name").as_string(), "");
  EXPECT_EQ(call(bhttp::verb::get, "/api/routes/user/bob").result_int(), 404);

  EXPECT_EQ(call(bhttp::verb::delete_, "/api/routes/user/alice").result_int(), 204);
  EXPECT_EQ(call(bhttp::verb::delete_, "/api/routes/user/alice").result_int(), 404);
  EXPECT_FALSE(routes_.get("/user/alice"));
}

TEST_F(RoutesApiTest, RootAndEscapedPaths) {
  EXPECT_EQ(call(bhttp::verb::post, "/api/routes/", R"({"target": "http://127.0.0.1:8081", "hub": true})")
                .result_int(),
            201);
  EXPECT_TRUE(routes_.get("/"));
  EXPECT_EQ(
      call(bhttp::verb::post, "/api/routes/user/a%40b", R"({"target": "http://127.0.0.1:1"})").result_int(),
      201);
  EXPECT_TRUE(routes_.get("/user/a@b"));  // stored decoded, matched against decoded paths
  auto all = boost::json::parse(call(bhttp::verb::get, "/api/routes").body()).as_object();
  EXPECT_TRUE(all.contains("/"));
  EXPECT_TRUE(all.contains("/user/a@b"));
}

// fuzz_routes_api found it: "%be" decodes to a byte that is not UTF-8, and a route under it
// would make every listing invalid JSON; the refusal itself must not echo it either.
TEST_F(RoutesApiTest, RefusesPathsThatAreNotUtf8AndAnswersJson) {
  for (auto v : {bhttp::verb::post, bhttp::verb::get, bhttp::verb::delete_}) {
    auto res = call(v, "/api/routes/user/%be", R"({"target": "http://127.0.0.1:1"})");
    EXPECT_EQ(res.result_int(), 400);
    boost::system::error_code ec;
    auto body = boost::json::parse(res.body(), ec);
    ASSERT_FALSE(ec) << res.body();
    EXPECT_NE(std::string(body.at("message").as_string()).find("UTF-8"), std::string::npos);
  }
  EXPECT_EQ(routes_.snapshot()->size(), 0u);
  boost::system::error_code ec;
  (void)boost::json::parse(call(bhttp::verb::get, "/api/routes?inactive_since=%be").body(), ec);
  EXPECT_FALSE(ec);  // the datestamp error quotes the value: repaired, still JSON
}

TEST_F(RoutesApiTest, RejectsBadBodies) {
  EXPECT_EQ(call(bhttp::verb::post, "/api/routes/user/x", R"({"user": "x"})").result_int(), 400);
  EXPECT_EQ(call(bhttp::verb::post, "/api/routes/user/x", R"({"target": 5})").result_int(), 400);
  EXPECT_EQ(call(bhttp::verb::post, "/api/routes/user/x", "not json").result_int(), 400);
  EXPECT_EQ(call(bhttp::verb::put, "/api/routes/user/x", R"({"target": "http://127.0.0.1:1"})").result_int(),
            405);
  EXPECT_EQ(routes_.snapshot()->size(), 0u);
}

// Issue 18: JupyterHub's test_proxy.py::test_add_get_delete registers these route specs with
// target https://localhost:1234, as ConfigurableHTTPProxy.add_route sends them; CHP answers
// 201 to each (it stores any target string) and lists them decoded.
TEST_F(RoutesApiTest, StoresTheRouteSpecsJupyterHubSendsWithAnyTarget) {
  struct Case {
    std::string path;  // as in the request
    std::string key;   // as CHP lists it
  };
  std::vector<Case> cases = {
      {"/has%20space/foo/", "/has space/foo"},
      {"/missing-trailing/slash", "/missing-trailing/slash"},
      {"/has/@/", "/has/@"},
      {"/has/%C3%BC%C3%B1%C3%AE%C3%A7%C3%B8%E2%88%82%C3%A9", "/has/üñîçø∂é"},
      {"/user/alice%40example.org/", "/user/alice@example.org"},
  };
  for (auto const& c : cases) {
    SCOPED_TRACE(c.path);
    auto res = call(bhttp::verb::post, "/api/routes" + c.path,
                    R"({"target": "https://localhost:1234", "jupyterhub": true})");
    ASSERT_EQ(res.result_int(), 201) << res.body();
    auto all = boost::json::parse(call(bhttp::verb::get, "/api/routes").body()).as_object();
    ASSERT_TRUE(all.contains(c.key));
    EXPECT_EQ(all.at(c.key).at("target").as_string(), "https://localhost:1234");
    res = call(bhttp::verb::get, "/api/routes" + c.path);
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(boost::json::parse(res.body()).at("target").as_string(), "https://localhost:1234");
    EXPECT_EQ(call(bhttp::verb::delete_, "/api/routes" + c.path).result_int(), 204);
    EXPECT_EQ(call(bhttp::verb::get, "/api/routes" + c.path).result_int(), 404);
  }
  auto res = call(bhttp::verb::post, "/api/routes/user/x", R"({"target": "not a url"})");
  EXPECT_EQ(res.result_int(), 201);  // CHP checks only that the target is a string
  ASSERT_TRUE(routes_.get("/user/x"));
  EXPECT_FALSE(routes_.get("/user/x")->target().unrelayable.empty());
}

TEST_F(RoutesApiTest, GetWithAnEmptyPathListsTheTableAsChp) {
  ASSERT_EQ(call(bhttp::verb::post, "/api/routes/", R"({"target": "http://127.0.0.1:8081"})").result_int(),
            201);
  ASSERT_EQ(call(bhttp::verb::post, "/api/routes/user/a", R"({"target": "http://127.0.0.1:1"})").result_int(),
            201);
  auto res = call(bhttp::verb::get, "/api/routes/");
  ASSERT_EQ(res.result_int(), 200);
  auto all = boost::json::parse(res.body()).as_object();
  EXPECT_TRUE(all.contains("/"));
  EXPECT_TRUE(all.contains("/user/a"));
}

TEST_F(RoutesApiTest, FiltersByInactiveSince) {
  ASSERT_EQ(
      call(bhttp::verb::post, "/api/routes/user/old", R"({"target": "http://127.0.0.1:1"})").result_int(),
      201);
  clock_.advance(1h);
  ASSERT_EQ(
      call(bhttp::verb::post, "/api/routes/user/new", R"({"target": "http://127.0.0.1:2"})").result_int(),
      201);
  auto res = call(bhttp::verb::get, "/api/routes?inactive_since=2023-11-14T22:30:00.000Z");
  ASSERT_EQ(res.result_int(), 200);
  auto got = boost::json::parse(res.body()).as_object();
  EXPECT_TRUE(got.contains("/user/old"));
  EXPECT_FALSE(got.contains("/user/new"));
  res = call(bhttp::verb::get, "/api/routes?inactiveSince=2023-11-15");
  EXPECT_EQ(boost::json::parse(res.body()).as_object().size(), 2u);
  EXPECT_EQ(call(bhttp::verb::get, "/api/routes?inactive_since=yesterday").result_int(), 400);
}

TEST(Iso8601, FormatsLikeJavaScriptAndParsesCommonForms) {
  EXPECT_EQ(format_iso8601(kT0 + 42ms), "2023-11-14T22:13:20.042Z");
  EXPECT_EQ(parse_iso8601("2023-11-14T22:13:20.042Z"), kT0 + 42ms);
  EXPECT_EQ(parse_iso8601("2023-11-14T22:13:20Z"), kT0);
  EXPECT_EQ(parse_iso8601("2023-11-14T22:13:20"), kT0);
  EXPECT_EQ(parse_iso8601("2023-11-14T23:13:20+01:00"), kT0);
  EXPECT_EQ(parse_iso8601("2023-11-14T22:13:20.123456+00:00"), kT0 + 123ms);
  EXPECT_EQ(parse_iso8601("2023-11-14"), kT0 - (22h + 13min + 20s));
  EXPECT_FALSE(parse_iso8601("2023-13-01"));
  EXPECT_FALSE(parse_iso8601("2023-11-14T22"));
  EXPECT_FALSE(parse_iso8601("2023-11-14T22:13:20Zjunk"));
  EXPECT_FALSE(parse_iso8601(""));
}

}  // namespace
}  // namespace nbhub::proxy::test
