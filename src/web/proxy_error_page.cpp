#include "web/proxy_error_page.hpp"

#include "web/html.hpp"

namespace nbhub::web {

namespace {

// A coroutine with its arguments by value: the responder's lambda only forwards to it, so the
// coroutine frame holds nothing of the lambda.
boost::asio::awaitable<http::Response> respond(proxy::UpstreamError e, std::string base_url) {
  co_return proxy_error_page(e, base_url);
}

}  // namespace

http::Response proxy_error_page(proxy::UpstreamError const& e, std::string const& base_url) {
  if (e.wants_json || e.websocket) return proxy::Proxy::default_error_response(e);
  auto const title = e.status == 403 ? "Not allowed" : "Server not available";
  auto body = error_body(e.status, e.message, base_url + "hub/home", "Go to your home page");
  return http::html_response(e.status, render({.title = title, .body_html = std::move(body), .base_url = base_url}));
}

proxy::ErrorResponder proxy_error_responder(std::string base_url) {
  return [base_url = std::move(base_url)](proxy::UpstreamError e) { return respond(std::move(e), base_url); };
}

}  // namespace nbhub::web
