#include "acme/http01_handler.hpp"

namespace nbhub::acme {

http::Handler http01_handler(Http01Responder const& responder) {
  return [&responder](http::Context& ctx) -> boost::asio::awaitable<http::Response> {
    auto answer = ctx.params.empty() ? std::nullopt : responder.find(ctx.params.back());
    if (!answer) co_return http::text_response(404, "no such ACME challenge\n", "text/plain");
    co_return http::text_response(200, std::move(*answer), "application/octet-stream");
  };
}

void add_http01_route(http::Router& router, Http01Responder const& responder) {
  router.get(std::string(kHttp01Prefix) + "{token}", http01_handler(responder));
}

}  // namespace nbhub::acme
