// What the default_url / named_server_limit_per_user functions see of a request, and the
// configured values when no function is given.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "http/message.hpp"
#include "web/handler_hooks.hpp"

namespace nbhub::web {
namespace {

namespace net = boost::asio;

TEST(HandlerHooks, TheRequestGoesWithoutCookiesOrCredentials) {
  http::Request req{http::bhttp::verb::get, "/hub/?a=1", 11};
  req.set(http::bhttp::field::cookie, "jupyterhub-session-id=secret");
  req.set(http::bhttp::field::authorization, "token secret");
  req.set("X-Forwarded-For", "10.0.0.1");
  http::Context ctx{req};
  ctx.path = "/hub/";
  ctx.raw_target = "/hub/?a=1";
  ctx.remote_ip = "127.0.0.1";
  ctx.host = "hub.example.org";
  auto call = handler_call(ctx, "alice");
  EXPECT_EQ(call.user, "alice");
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.uri, "/hub/?a=1");
  EXPECT_EQ(call.path, "/hub/");
  EXPECT_EQ(call.protocol, "http");
  ASSERT_EQ(call.headers.size(), 1u);
  EXPECT_EQ(call.headers[0].first, "X-Forwarded-For");
}

TEST(HandlerHooks, WithoutFunctionsTheConfiguredValuesAnswer) {
  config::HubConfig cfg;
  cfg.default_url = "/hub/home";
  cfg.spawner_settings.named_server_limit_per_user = 3;
  http::Request req{http::bhttp::verb::get, "/hub/", 11};
  http::Context ctx{req};
  net::io_context ioc;
  auto url = net::co_spawn(ioc, default_url_for(nullptr, cfg, ctx, std::nullopt), net::use_future);
  HandlerHooks none;  // hooks present, but neither trait is a function
  auto limit = net::co_spawn(ioc, named_server_limit_for(&none, cfg, ctx, "alice"), net::use_future);
  ioc.run();
  EXPECT_EQ(*url.get(), "/hub/home");
  EXPECT_EQ(*limit.get(), 3u);
}

}  // namespace
}  // namespace nbhub::web
