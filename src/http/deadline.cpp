#include "http/deadline.hpp"

#include "core/clock.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <mutex>

namespace nbhub::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct DeadlineReaper::State : std::enable_shared_from_this<State> {
  State(net::any_io_executor ex, Clock::duration t) : tick(t), timer(net::make_strand(ex)) {}

  void arm() {  // requires mu
    ticking = true;
    timer.expires_after(tick);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->reap();
    });
  }

  void reap() {
    std::lock_guard lock(mu);
    ticking = false;
    auto now = coarse_steady_now().time_since_epoch().count();
    for (auto* d = head; d; d = d->next_) {
      if (d->due_.load(std::memory_order_relaxed) > now || d->expired_.load(std::memory_order_relaxed))
        continue;
      d->expired_.store(true, std::memory_order_release);
      // Under the lock the watched descriptors are still the exchange's (Deadline::watch).
      int fd = d->side_.load(std::memory_order_relaxed) == Deadline::Side::client ? d->client_fd_
                                                                                  : d->upstream_fd_;
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
    if (head) arm();
  }

  Clock::duration const tick;
  std::mutex mu;
  Deadline* head = nullptr;  // GUARDED_BY(mu)
  net::steady_timer timer;   // GUARDED_BY(mu)
  bool ticking = false;      // GUARDED_BY(mu)
};

DeadlineReaper::DeadlineReaper(net::any_io_executor ex, Clock::duration tick)
    : st_(std::make_shared<State>(std::move(ex), tick)) {}

DeadlineReaper::Clock::duration DeadlineReaper::tick_for(Clock::duration shortest) noexcept {
  return std::clamp<Clock::duration>(shortest / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
}

DeadlineReaper::~DeadlineReaper() {
  std::lock_guard lock(st_->mu);
  st_->timer.cancel();
  st_->ticking = true;  // deadlines still alive must not re-arm a timer nobody will run
}

void Deadline::enlist() {
  auto& st = *st_;
  // requires st.mu
  next_ = st.head;
  if (next_) next_->prev_ = this;
  st.head = this;
  enlisted_ = true;
  if (!st.ticking) st.arm();
}

Deadline::~Deadline() {
  if (!enlisted_) return;
  auto& st = *st_;
  std::lock_guard lock(st.mu);
  if (prev_)
    prev_->next_ = next_;
  else
    st.head = next_;
  if (next_) next_->prev_ = prev_;
}

void Deadline::watch(tcp::socket* client, tcp::socket* upstream) {
  auto& st = *st_;
  std::lock_guard lock(st.mu);
  client_fd_ = client ? client->native_handle() : -1;
  upstream_fd_ = upstream ? upstream->native_handle() : -1;
  if (!enlisted_) enlist();
}

bool Deadline::start(Clock::duration d, Side side) {
  if (expired()) return false;
  side_.store(side, std::memory_order_relaxed);
  if (!enlisted_) {
    std::lock_guard lock(st_->mu);
    enlist();
  }
  due_.store((coarse_steady_now() + d).time_since_epoch().count(), std::memory_order_relaxed);
  return true;
}

void Deadline::disarm() noexcept {
  due_.store(Clock::time_point::max().time_since_epoch().count(), std::memory_order_relaxed);
}

void Deadline::idle() {
  disarm();
  watch(nullptr, nullptr);
}

}  // namespace nbhub::http
