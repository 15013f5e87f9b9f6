#include "web/handler_hooks.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/value.hpp>

#include "config/config.hpp"
#include "http/message.hpp"

namespace nbhub::web {

namespace net = boost::asio;

hub::HandlerCall handler_call(http::Context const& ctx, std::optional<std::string> user) {
  hub::HandlerCall out{.user = std::move(user),
                       .method = std::string(ctx.req.method_string()),
                       .uri = ctx.raw_target,
                       .path = ctx.path,
                       .remote_ip = ctx.remote_ip,
                       .host = ctx.host,
                       .protocol = ctx.scheme(),
                       .headers = {}};
  for (auto const& f : ctx.req) {
    auto const name = f.name();
    if (name == boost::beast::http::field::cookie || name == boost::beast::http::field::authorization) continue;
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  return out;
}

net::awaitable<Result<std::string>> default_url_for(HandlerHooks const* hooks, config::HubConfig const& cfg,
                                                    http::Context const& ctx, std::optional<std::string> user) {
  if (!hooks || !hooks->default_url || !hooks->call) co_return cfg.default_url;
  auto v = co_await hooks->call("default_url", handler_call(ctx, std::move(user)));
  if (!v) co_return v.error();
  if (!v->is_string()) co_return Error{Errc::config, "JupyterHub.default_url did not return a string"};
  co_return std::string(v->get_string());
}

net::awaitable<Result<std::size_t>> named_server_limit_for(HandlerHooks const* hooks, config::HubConfig const& cfg,
                                                           http::Context const& ctx, std::optional<std::string> user) {
  if (!hooks || !hooks->named_server_limit || !hooks->call)
    co_return cfg.spawner_settings.named_server_limit_per_user;
  auto v = co_await hooks->call("named_server_limit_per_user", handler_call(ctx, std::move(user)));
  if (!v) co_return v.error();
  if (!v->is_int64() || v->get_int64() < 0)
    co_return Error{Errc::config, "JupyterHub.named_server_limit_per_user did not return a whole number >= 0"};
  co_return static_cast<std::size_t>(v->get_int64());
}

}  // namespace nbhub::web
