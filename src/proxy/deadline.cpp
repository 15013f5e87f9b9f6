#include "proxy/deadline.hpp"

namespace nbhub::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Deadline::State {
  explicit State(net::any_io_executor ex) : timer(std::move(ex)) {}
  net::steady_timer timer;
  Clock::time_point due = Clock::time_point::max();
  Clock::time_point armed_at = Clock::time_point::max();  // the timer's expiry, when armed
  tcp::socket* a = nullptr;
  tcp::socket* b = nullptr;
  bool armed = false;
  bool expired = false;
  bool detached = false;
};

Deadline::Deadline(net::any_io_executor strand) : st_(std::make_shared<State>(std::move(strand))) {}

Deadline::~Deadline() {
  st_->detached = true;
  st_->a = st_->b = nullptr;
  if (st_->armed) st_->timer.cancel();
}

void Deadline::watch(tcp::socket* a, tcp::socket* b) {
  st_->a = a;
  st_->b = b;
}

bool Deadline::start(Clock::duration d) {
  if (st_->expired) return false;
  st_->due = Clock::now() + d;
  // An armed timer that fires before `due` re-arms itself; one that would fire after it
  // must be brought forward.
  if (!st_->armed) {
    arm();
  } else if (st_->armed_at > st_->due) {
    st_->timer.cancel();  // its handler sees `armed_at` changed and re-arms
    arm();
  }
  return true;
}

void Deadline::idle() noexcept { st_->due = Clock::time_point::max(); }

bool Deadline::expired() const noexcept { return st_->expired; }

namespace {

void arm_state(std::shared_ptr<Deadline::State> const& st);

void on_timer(std::shared_ptr<Deadline::State> const& st, Deadline::Clock::time_point at,
              boost::system::error_code ec) {
  if (st->detached || at != st->armed_at) return;  // gone, or superseded by a later arm
  st->armed = false;
  if (ec == net::error::operation_aborted) return;
  if (Deadline::Clock::now() < st->due) {  // operations moved it on: wait for the new time
    arm_state(st);
    return;
  }
  st->expired = true;
  boost::system::error_code ignored;
  if (st->a) st->a->cancel(ignored);
  if (st->b) st->b->cancel(ignored);
}

void arm_state(std::shared_ptr<Deadline::State> const& st) {
  st->armed = true;
  st->armed_at = st->due;
  st->timer.expires_at(st->due);
  st->timer.async_wait([st, at = st->due](boost::system::error_code ec) { on_timer(st, at, ec); });
}

}  // namespace

void Deadline::arm() { arm_state(st_); }

}  // namespace nbhub::proxy
