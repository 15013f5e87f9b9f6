// The proxy's error pages as the hub gives them (web/proxy_error_page.hpp): the hub's page with
// a link home for browsers, JSON for API clients and WebSockets.
#include "web/proxy_error_page.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using nbhub::proxy::UpstreamError;
using nbhub::web::proxy_error_page;

namespace {
UpstreamError revoked() {
  UpstreamError e;
  e.status = 403;
  e.message = "Your access to this server was revoked. Ask its <owner> to share it again.";
  e.route = "/user/alice";
  return e;
}
}  // namespace

TEST(ProxyErrorPage, BrowsersGetTheHubsPageWithALinkHome) {
  auto res = proxy_error_page(revoked(), "/@/space%20word/");
  EXPECT_EQ(res.result_int(), 403u);
  EXPECT_EQ(res[boost::beast::http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(res["Content-Security-Policy"], "");
  auto const& body = res.body();
  EXPECT_NE(body.find(R"(<link rel="stylesheet" href="/@/space%20word/hub/static/nbhub.css">)"), std::string::npos);
  EXPECT_NE(body.find(R"(href="/@/space%20word/hub/home">Go to your home page</a>)"), std::string::npos);
  EXPECT_NE(body.find("<title>Not allowed · nbhub</title>"), std::string::npos);
  EXPECT_NE(body.find("Ask its &lt;owner&gt; to share it again."), std::string::npos);  // escaped
}

TEST(ProxyErrorPage, ApiClientsAndWebSocketsGetJson) {
  for (bool websocket : {false, true}) {
    auto e = revoked();
    e.wants_json = !websocket;
    e.websocket = websocket;
    auto res = proxy_error_page(e, "/");
    EXPECT_EQ(res.result_int(), 403u);
    EXPECT_EQ(res[boost::beast::http::field::content_type], "application/json");
    auto v = boost::json::parse(res.body()).as_object();
    EXPECT_EQ(v.at("status"), 403);
    EXPECT_EQ(v.at("message").as_string(), revoked().message);
  }
}

TEST(ProxyErrorPage, AServerThatDoesNotAnswerIsNotAnAccessProblem) {
  auto e = revoked();
  e.status = 503;
  e.message = "Service Unavailable: alice's server is not answering.";
  auto body = proxy_error_page(e, "/").body();
  EXPECT_NE(body.find("<title>Server not available · nbhub</title>"), std::string::npos);
  EXPECT_NE(body.find("Error 503"), std::string::npos);
}
