// `nbhub proxy`'s configurable-http-proxy REST API (/api/routes) takes bodies and paths from
// whoever holds CONFIGPROXY_AUTH_TOKEN, or from anyone when the token is empty, as CHP allows.
// A sequence of requests goes through the listener's dispatch steps (origin-form parse, router,
// handler) into one RouteTable. Nothing may crash; every answer is JSON or empty; a route that
// was added (201) can be read back at once, and a missing token is always 403.
#include <fuzzer/FuzzedDataProvider.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/clock.hpp"
#include "http/router.hpp"
#include "proxy/route_table.hpp"
#include "proxy/routes_api.hpp"

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using namespace nbhub;

namespace {

constexpr char kToken[] = "fuzz-token";

http::Response dispatch(http::Router const& router, http::Request const& req) {
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) return http::json_error(400, "bad target");
  http::Context ctx{.req = req};
  ctx.raw_target = std::string(req.target());
  ctx.path = parsed->path();
  for (auto p : parsed->params()) ctx.query.emplace(p.key, p.value);
  auto found = router.find(req.method(), ctx.path);
  if (found.match != http::Router::Match::found) return http::json_error(404, "no route");
  ctx.params = std::move(found.params);
  net::io_context ioc;
  http::Response out;
  net::co_spawn(ioc, [&]() -> net::awaitable<void> { out = co_await (*found.handler)(ctx); }, net::detached);
  ioc.run();
  return out;
}

http::Request request(bhttp::verb method, std::string target, std::string body, bool auth) {
  http::Request req{method, target, 11};
  if (auth) req.set(bhttp::field::authorization, std::string("token ") + kToken);
  req.body() = std::move(body);
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static auto log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  FuzzedDataProvider in(data, size);
  SystemClock clock;
  proxy::RouteTable table(clock);
  proxy::RoutesApi api(table, Secret(in.ConsumeBool() ? kToken : ""), *log);
  http::Router router;
  api.install(router);

  static constexpr bhttp::verb kVerbs[] = {bhttp::verb::get, bhttp::verb::post, bhttp::verb::delete_,
                                           bhttp::verb::put};
  for (int i = 0; i < 12 && in.remaining_bytes() > 0; ++i) {
    auto verb = kVerbs[in.ConsumeIntegralInRange<int>(0, 3)];
    auto tail = in.ConsumeRandomLengthString(200);
    std::string target = in.ConsumeBool() ? "/api/routes" + tail : tail;
    bool auth = in.ConsumeBool();
    auto body = in.ConsumeRandomLengthString(2000);
    http::Request req;
    try {
      req = request(verb, target, body, auth);
    } catch (std::exception const&) {
      continue;  // Beast refuses the target itself (not something a parsed request can carry)
    }
    auto res = dispatch(router, req);
    if (!res.body().empty()) {
      boost::system::error_code ec;
      (void)boost::json::parse(res.body(), ec);
      if (ec) std::abort();
    }
    if (res.result_int() == 201 && verb == bhttp::verb::post) {
      // The route reads back at the path it was added under.
      auto back = dispatch(router, request(bhttp::verb::get, target.substr(0, target.find('?')), "", true));
      if (back.result_int() != 200) std::abort();
    }
  }
  // The whole table and an inactive_since filter still serialise.
  (void)dispatch(router, request(bhttp::verb::get, "/api/routes", "", true));
  (void)dispatch(router, request(bhttp::verb::get, "/api/routes?inactive_since=" + in.ConsumeRandomLengthString(40), "", true));
  return 0;
}
