#include "proxy/upstream_pool.hpp"

#include "core/clock.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "http/deadline.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace nbhub::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Did the peer close, or send unsolicited bytes on, a parked connection? One non-blocking
// peek; no operation is pending on a parked socket.
bool looks_alive(UpstreamConnection& c) {
  if (!c.socket.is_open()) return false;
  char byte;
  auto n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct UpstreamPool::State : std::enable_shared_from_this<State> {
  State(net::any_io_executor ex, ProxyConfig const& cfg)
      : idle_timeout(cfg.upstream_idle_timeout),
        max_idle(cfg.max_idle_upstream_per_target),
        sweep(net::make_strand(ex)) {}

  void arm(SteadyClock::time_point when) {  // requires mu
    armed = true;
    sweep.expires_at(when);
    sweep.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->on_sweep();
    });
  }

  void on_sweep() {
    std::vector<UpstreamPtr> expired;  // closed outside the lock
    std::lock_guard lock(mu);
    armed = false;
    auto now = SteadyClock::now();
    std::optional<SteadyClock::time_point> next;
    for (auto it = idle.begin(); it != idle.end();) {
      auto& q = it->second;
      while (!q.empty() && now - q.front()->idle_since >= idle_timeout) {
        expired.push_back(std::move(q.front()));
        q.pop_front();
      }
      if (q.empty()) {
        it = idle.erase(it);
        continue;
      }
      next = std::min(next.value_or(SteadyClock::time_point::max()), q.front()->idle_since + idle_timeout);
      ++it;
    }
    if (next) arm(*next);
  }

  std::chrono::milliseconds const idle_timeout;
  std::size_t const max_idle;
  mutable std::mutex mu;
  // Oldest first; `take` looks from the back (most recently parked, least likely stale).
  std::unordered_map<std::string, std::deque<UpstreamPtr>> idle;  // GUARDED_BY(mu)
  std::size_t count = 0;                                          // GUARDED_BY(mu)
  net::steady_timer sweep;                                        // GUARDED_BY(mu)
  bool armed = false;                                             // GUARDED_BY(mu)
};

UpstreamPool::UpstreamPool(net::any_io_executor ex, ProxyConfig const& cfg, http::DeadlineReaper& reaper)
    : ex_(ex),
      reaper_(reaper),
      buffer_limit_(std::max(cfg.buffer_bytes, cfg.header_limit_bytes)),
      connect_timeout_(cfg.connect_timeout),
      state_(std::make_shared<State>(std::move(ex), cfg)) {}

UpstreamPool::~UpstreamPool() {
  std::lock_guard lock(state_->mu);
  state_->idle.clear();
  state_->sweep.cancel();
}

UpstreamPtr UpstreamPool::take(std::string const& key, bool check) {
  for (;;) {
    UpstreamPtr c;
    {
      std::lock_guard lock(state_->mu);
      auto it = state_->idle.find(key);
      if (it == state_->idle.end() || it->second.empty()) return nullptr;
      c = std::move(it->second.back());
      it->second.pop_back();
      --state_->count;
    }
    auto idle = coarse_steady_now() - c->idle_since;
    if (idle >= state_->idle_timeout) continue;
    // A connection parked a moment ago is almost never closed yet, and a request that fails
    // on one is retried when that is safe (Proxy::serve); the peek is for the rest.
    if ((check || idle > std::chrono::seconds(1)) && !looks_alive(*c)) continue;
    c->reused = true;
    reuses_.fetch_add(1, std::memory_order_relaxed);
    return c;
  }
}

void UpstreamPool::put(UpstreamPtr c) {
  if (!c || !c->socket.is_open() || c->buffer.size() != 0) return;
  c->idle_since = coarse_steady_now();
  std::lock_guard lock(state_->mu);
  auto& q = state_->idle[c->key];
  if (q.size() >= state_->max_idle) return;  // `c` is closed as it goes out of scope
  q.push_back(std::move(c));
  ++state_->count;
  if (!state_->armed) state_->arm(q.back()->idle_since + state_->idle_timeout);
}

std::size_t UpstreamPool::idle_count() const {
  std::lock_guard lock(state_->mu);
  return state_->count;
}

net::awaitable<ConnectResult> UpstreamPool::connect(Target target, net::any_io_executor strand) {
  ConnectResult out;
  auto conn = std::make_unique<UpstreamConnection>(tcp::socket(ex_), target.key, buffer_limit_);
  // Beast reads at most the free capacity per call: reserve it once, keep it while parked.
  conn->buffer.reserve(buffer_limit_);
  auto& sock = conn->socket;
  http::Deadline deadline(reaper_);
  deadline.watch(nullptr, &sock);
  deadline.start(connect_timeout_, http::Deadline::Side::upstream);
  boost::system::error_code ec;
  auto addr = net::ip::make_address(target.host, ec);
  if (!ec) {
    tcp::endpoint ep(addr, target.port);
    co_await sock.async_connect(ep, net::redirect_error(net::use_awaitable, ec));
  } else {
    // Names (docker containers, "localhost") are resolved per new connection: the resolver
    // runs getaddrinfo off the I/O threads, and pooled connections make this rare. The
    // deadline cannot interrupt getaddrinfo itself, only the connect that follows.
    tcp::resolver resolver(strand);
    ec = {};
    auto found = co_await resolver.async_resolve(target.host, std::to_string(target.port),
                                                 net::redirect_error(net::use_awaitable, ec));
    if (!ec && !deadline.expired()) {
      co_await net::async_connect(sock, found, net::redirect_error(net::use_awaitable, ec));
    }
  }
  if (deadline.expired()) ec = beast::error::timeout;
  if (ec) {
    out.ec = ec;
    co_return out;
  }
  sock.set_option(tcp::no_delay(true), ec);  // small responses must not wait for Nagle
  connects_.fetch_add(1, std::memory_order_relaxed);
  out.conn = std::move(conn);
  co_return out;
}

}  // namespace nbhub::proxy
