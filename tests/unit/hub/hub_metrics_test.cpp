// The hub's metric set (hub/hub_metrics.hpp): JupyterHub's names and labels, the handler
// label per route pattern, the user counts from the store, and the IdP call labels
// (hub/metered_http_client.hpp).
#include "hub/hub_metrics.hpp"

#include <gtest/gtest.h>

#include "hub/metered_http_client.hpp"
#include "store/store.hpp"

namespace nbhub::hub {
namespace {

using namespace std::chrono_literals;

HubMetricsOptions with_base(std::string base) {
  HubMetricsOptions o;
  o.route_base = std::move(base);
  return o;
}

TEST(HubMetrics, ExposesJupyterHubsNamesWithEveryStatusFromTheStart) {
  HubMetrics m(with_base("/"));
  auto text = m.expose();
  for (auto line : {"# TYPE jupyterhub_request_duration_seconds histogram",
                    "jupyterhub_server_spawn_duration_seconds_count{status=\"success\"} 0.0",
                    "jupyterhub_server_spawn_duration_seconds_count{status=\"too-many-users\"} 0.0",
                    "jupyterhub_server_spawn_duration_seconds_bucket{status=\"failure\",le=\"600.0\"} 0.0",
                    "jupyterhub_server_stop_seconds_bucket{status=\"success\",le=\"0.005\"} 0.0",
                    "jupyterhub_server_poll_duration_seconds_count{status=\"stopped\"} 0.0",
                    "jupyterhub_proxy_add_duration_seconds_count{status=\"failure\"} 0.0",
                    "jupyterhub_proxy_delete_duration_seconds_count{status=\"success\"} 0.0",
                    "jupyterhub_active_users{period=\"30d\"} 0.0", "jupyterhub_total_users 0.0",
                    "jupyterhub_running_servers 0.0", "jupyterhub_hub_startup_duration_seconds_count 0.0",
                    "jupyterhub_init_spawners_duration_seconds_count 0.0",
                    "jupyterhub_check_routes_duration_seconds_count 0.0",
                    "jupyterhub_login_duration_seconds_count{status=\"failure\"} 0.0",
                    "jupyterhub_event_loop_interval_seconds_bucket{le=\"0.055\"} 0.0",
                    "nbhub_sign_in_failures_total{reason=\"idp_unavailable\"} 0.0",
                    "nbhub_token_refreshes_total{outcome=\"refused\"} 0.0", "process_open_fds "})
    EXPECT_NE(text.find(line), std::string::npos) << line;
}

TEST(HubMetrics, PrefixAndBucketsComeFromJupyterHubsEnvironment) {
  auto o = metrics_options_from_env({{"JUPYTERHUB_METRICS_PREFIX", "myhub"},
                                     {"JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS", "1, 10,100"}});
  ASSERT_TRUE(o);
  HubMetrics m(*o);
  auto text = m.expose();
  EXPECT_NE(text.find("myhub_running_servers 0.0"), std::string::npos);
  EXPECT_EQ(text.find("jupyterhub_"), std::string::npos);
  EXPECT_NE(text.find("myhub_server_spawn_duration_seconds_bucket{status=\"success\",le=\"100.0\"} 0.0"),
            std::string::npos);
  EXPECT_EQ(text.find("myhub_server_spawn_duration_seconds_bucket{status=\"success\",le=\"600.0\"}"), std::string::npos);
  auto bad = metrics_options_from_env({{"JUPYTERHUB_SERVER_STOP_DURATION_SECONDS_BUCKETS", "1,ten"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("JUPYTERHUB_SERVER_STOP_DURATION_SECONDS_BUCKETS"), std::string::npos);
}

TEST(HubMetrics, HandlerLabelIsJupyterHubsClassOrTheRoutePattern) {
  HubMetrics m(with_base("/@/space word/"));
  EXPECT_EQ(m.handler_name("/@/space word/hub/api/users/{name}/server/progress"),
            "jupyterhub.apihandlers.users.SpawnProgressAPIHandler");
  EXPECT_EQ(m.handler_name("/@/space word/hub/api/users/{name}"), "jupyterhub.apihandlers.users.UserAPIHandler");
  EXPECT_EQ(m.handler_name("/@/space word/hub/metrics"), "jupyterhub.handlers.metrics.MetricsHandler");
  EXPECT_EQ(m.handler_name("/@/space word/hub/api/users/{name}/oauth-token"),
            "nbhub:/hub/api/users/{name}/oauth-token");
  EXPECT_EQ(m.handler_name(""), "jupyterhub.handlers.pages.Template404");
}

TEST(HubMetrics, RequestsAreLabelledByPatternNeverByPath) {
  HubMetrics m(with_base("/"));
  m.observe_request("GET", "/hub/api/users/{name}", 200, 3ms);
  m.observe_request("GET", "/hub/api/users/{name}", 200, 5ms);
  m.observe_request("GET", "/hub/oauth_callback", 403, 20ms);
  m.observe_request("GET", "/hub/oauth_callback", 302, 20ms);
  auto text = m.expose();
  EXPECT_NE(text.find("jupyterhub_request_duration_seconds_count{method=\"GET\",handler=\"jupyterhub.apihandlers.users."
                      "UserAPIHandler\",code=\"200\"} 2.0"),
            std::string::npos);
  EXPECT_NE(text.find("jupyterhub_login_duration_seconds_count{status=\"success\"} 1.0"), std::string::npos);
  EXPECT_NE(text.find("jupyterhub_login_duration_seconds_count{status=\"failure\"} 1.0"), std::string::npos);
  EXPECT_NE(text.find("nbhub_sign_in_failures_total{reason=\"refused\"} 1.0"), std::string::npos);
}

TEST(HubMetrics, UserCountsComeFromOneStoreQuery) {
  FakeClock clock{Clock::SysTime{} + std::chrono::seconds{1767225600}};
  auto st = std::move(*store::Store::open("sqlite://", clock));
  ASSERT_TRUE(st->migrate());
  for (auto name : {"ann", "bob", "cy", "dee"}) ASSERT_TRUE(st->create_user(name, false));
  auto now = clock.now();
  ASSERT_TRUE(st->touch_activity("ann", now - 1h));
  ASSERT_TRUE(st->touch_activity("bob", now - 72h));
  ASSERT_TRUE(st->touch_activity("cy", now - 24h * 20));
  HubMetrics m(with_base("/"));
  std::vector<std::string> ops;
  st->set_query_observer([&](std::string_view op, std::chrono::nanoseconds, bool ok) {
    ops.emplace_back(op);
    EXPECT_TRUE(ok);
  });
  ASSERT_TRUE(m.refresh_user_counts(*st, now));
  EXPECT_EQ(ops, std::vector<std::string>{"count_user_activity"});
  auto text = m.expose();
  EXPECT_NE(text.find("jupyterhub_total_users 4.0"), std::string::npos);
  EXPECT_NE(text.find("jupyterhub_active_users{period=\"24h\"} 1.0"), std::string::npos);
  EXPECT_NE(text.find("jupyterhub_active_users{period=\"7d\"} 2.0"), std::string::npos);
  EXPECT_NE(text.find("jupyterhub_active_users{period=\"30d\"} 3.0"), std::string::npos);
}

TEST(MeteredHttpClient, LabelsComeFromTheConfiguredEndpointsOnly) {
  struct Never final : http::HttpClient {
    boost::asio::awaitable<Result<http::ClientResponse>> send(http::ClientRequest) override {
      co_return Error{Errc::unavailable, "unused"};
    }
  } never;
  HubMetrics m(with_base("/"));
  MeteredHttpClient c(never, m);
  config::ProviderConfig p;
  p.name = "cognito";
  p.token_url = "https://idp.example/oauth2/token";
  p.jwks_url = "https://idp.example/.well-known/jwks.json";
  p.issuer = "https://idp.example/";
  c.add_provider(p);
  EXPECT_EQ(c.labels_for("https://idp.example/oauth2/token?x=1"), (std::pair<std::string, std::string>{"cognito", "token"}));
  EXPECT_EQ(c.labels_for("https://idp.example/.well-known/openid-configuration"),
            (std::pair<std::string, std::string>{"cognito", "discovery"}));
  EXPECT_EQ(c.labels_for("https://elsewhere.example/u/alice"), (std::pair<std::string, std::string>{"other", "other"}));
}

}  // namespace
}  // namespace nbhub::hub
