#include "spawn/readiness.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <string.h>

#include <algorithm>

namespace nbhub::spawn {

namespace net = boost::asio;
using std::chrono::milliseconds;

std::string describe_exit(int status) {
  if (status > 0) return fmt::format("exited with status {}", status);
  if (status < 0) {
    char const* name = ::sigabbrev_np(-status);  // thread-safe, unlike strsignal
    return fmt::format("was killed by signal {} ({})", -status, name ? name : "?");
  }
  return "exited (status unknown)";
}

std::string describe_duration(milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
  return fmt::format("{} ms", d.count());
}

namespace {

std::string with_tail(std::string msg, std::string const& tail) {
  if (!tail.empty()) msg += "; its last output:\n" + tail;
  return msg;
}

bool cancelled(net::cancellation_state const& cs) {
  return cs.cancelled() != net::cancellation_type::none;
}

}  // namespace

net::awaitable<Result<ServerReady>> wait_until_ready(http::HttpClient& http, Spawner& spawner,
                                                     boost::json::object state, std::string url,
                                                     ReadinessPolicy policy, Clock const& clock,
                                                     spdlog::logger& log) {
  auto const deadline = clock.now() + policy.timeout;
  milliseconds delay = policy.first_delay;
  std::string last_problem = "none made";
  net::steady_timer timer(co_await net::this_coro::executor);
  for (int attempt = 1;; ++attempt) {
    if (cancelled(co_await net::this_coro::cancellation_state))
      co_return Error{Errc::unavailable,
                      fmt::format("waiting for the server at {} was cancelled", url)};
    if (auto exited = co_await spawner.poll(state)) {
      std::string tail = co_await spawner.output_tail(state);
      co_return Error{Errc::unavailable,
                      with_tail(fmt::format("the server {} before answering at {}",
                                            describe_exit(*exited), url),
                                tail)};
    }
    auto remaining = std::chrono::duration_cast<milliseconds>(deadline - clock.now());
    if (remaining <= milliseconds::zero()) {
      std::string tail = co_await spawner.output_tail(state);
      co_return Error{Errc::unavailable,
                      with_tail(fmt::format("the server at {} did not answer within "
                                            "http_timeout ({}); last attempt: {}",
                                            url, describe_duration(policy.timeout), last_problem),
                                tail)};
    }

    http::ClientRequest req;  // named: GCC 12 and braced temporaries in co_await (client_impl.hpp)
    req.url = url;
    req.timeout = remaining;
    auto r = co_await http.send(std::move(req));
    if (r && r->status < 500)
      co_return ServerReady{r->status, r->header("X-JupyterHub-Version"), attempt};
    if (r) {
      last_problem = fmt::format("HTTP {}", r->status);
      log.warn("server at {} answered {} (attempt {}); retrying", url, r->status, attempt);
    } else {
      last_problem = r.error().message;
    }

    remaining = std::chrono::duration_cast<milliseconds>(deadline - clock.now());
    timer.expires_after(std::max(milliseconds(1), std::min(remaining, delay)));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    delay = std::min(delay * 2, policy.max_delay);
  }
}

}  // namespace nbhub::spawn
