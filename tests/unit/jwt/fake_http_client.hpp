#pragma once
// Stands in for a remote IdP's JWKS endpoint at the HttpClient seam (STYLE.md §9: a fault the
// real IdP cannot show on demand: slow, failing, garbage). Serves one scripted reply to every
// request until changed, counts calls, and can hold requests until released so that tests can
// line up concurrent lookups behind one fetch.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/client.hpp"

namespace nbhub::jwt::test {

namespace net = boost::asio;

class FakeHttpClient final : public http::HttpClient {
 public:
  int calls = 0;
  std::vector<http::ClientRequest> requests;
  bool hold = false;  // requests wait for release()

  void serve(std::string body, unsigned status = 200) {
    http::ClientResponse r;
    r.status = status;
    r.body = std::move(body);
    reply_ = std::move(r);
  }
  void fail_transport() {
    reply_ = Error{Errc::unavailable, "GET https://idp.test/jwks: connection refused"};
  }
  void release() {
    hold = false;
    for (auto* t : held_) t->cancel();
  }

  net::awaitable<Result<http::ClientResponse>> send(http::ClientRequest req) override {
    ++calls;
    requests.push_back(req);
    if (hold) {
      net::steady_timer timer(co_await net::this_coro::executor,
                              net::steady_timer::time_point::max());
      held_.push_back(&timer);
      (void)co_await timer.async_wait(net::as_tuple(net::use_awaitable));  // cancelled = go
      std::erase(held_, &timer);
    }
    co_return reply_;
  }

 private:
  Result<http::ClientResponse> reply_ = Error{Errc::unavailable, "nothing scripted"};
  std::vector<net::steady_timer*> held_;
};

// Runs one coroutine to completion on a fresh io_context and returns its value.
template <class T>
T run_sync(net::awaitable<T> aw) {
  net::io_context ioc;
  std::optional<T> out;
  net::co_spawn(
      ioc, [&]() -> net::awaitable<void> { out.emplace(co_await std::move(aw)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  return std::move(*out);
}

}  // namespace nbhub::jwt::test
