#include "http/deadline.hpp"

#include "core/clock.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <mutex>

namespace nbhub::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr auto kNever = Deadline::Clock::time_point::max().time_since_epoch().count();
}  // namespace

// A hashed timing wheel of kSlots lists, one per tick: a deadline is filed in the slot of the
// tick its due time falls in, and the reaper visits one slot per tick, so that each wake-up
// costs what is due (or filed) in that tick, not a walk over every open connection. Filing
// is lazy: a later due time (the usual re-arm, a deadline pushed back before each read) only
// stores an atomic, and the deadline is moved to its new slot when its old one comes up; only
// an earlier due time than the slot it is filed in (a short request timeout after a long idle
// one, or a deadline not filed) takes the mutex to file it again. A due time more than one
// turn of the wheel away is visited once per turn and filed on.
struct DeadlineReaper::State : std::enable_shared_from_this<State> {
  static constexpr std::size_t kSlots = 1024;

  State(net::any_io_executor ex, Clock::duration t) : tick(t), timer(net::make_strand(ex)) {}

  Clock::rep slot_of(Clock::rep due) const {  // the tick a due time is checked in (rounded up)
    auto t = tick.count();
    return due / t + (due % t != 0);
  }

  // Files `d` for `due` (not kNever), in the slot of its tick or, when that tick has been
  // visited already, the next one. Requires mu; `d` is not filed.
  void file(Deadline* d, Clock::rep due) {
    auto s = std::max(slot_of(due), next_slot);
    auto& head = slots[static_cast<std::size_t>(s) % kSlots];
    d->prev_ = nullptr;
    d->next_ = head;
    if (head) head->prev_ = d;
    head = d;
    d->filed_slot_.store(s, std::memory_order_seq_cst);
    ++filed;
    if (!ticking) arm();
  }

  void unfile(Deadline* d) {  // requires mu; `d` is filed
    auto s = d->filed_slot_.load(std::memory_order_relaxed);
    auto& head = slots[static_cast<std::size_t>(s) % kSlots];
    if (d->prev_)
      d->prev_->next_ = d->next_;
    else
      head = d->next_;
    if (d->next_) d->next_->prev_ = d->prev_;
    d->prev_ = d->next_ = nullptr;
    d->filed_slot_.store(kNever, std::memory_order_seq_cst);
    --filed;
  }

  void arm() {  // requires mu: wakes at the start of the next unvisited tick
    ticking = true;
    timer.expires_at(Clock::time_point(next_slot * tick));
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->reap();
    });
  }

  void reap() {
    std::lock_guard lock(mu);
    ticking = true;  // what visit() files below must not arm the timer: it is armed once, at the end
    // The precise clock here (once a tick): the coarse one may still read the previous tick.
    auto const now = Clock::now().time_since_epoch().count();
    auto const now_slot = now / tick.count();
    // After a long pause (a suspended process), each slot once.
    auto first = std::max(next_slot, now_slot - static_cast<Clock::rep>(kSlots) + 1);
    for (auto s = first; s <= now_slot; ++s) {
      next_slot = s + 1;  // what is filed from here on goes to later slots
      auto* d = std::exchange(slots[static_cast<std::size_t>(s) % kSlots], nullptr);
      while (d) {
        auto* next = d->next_;
        d->prev_ = d->next_ = nullptr;
        d->filed_slot_.store(kNever, std::memory_order_seq_cst);
        --filed;
        visit(d, now);
        d = next;
      }
    }
    ticking = false;
    if (filed != 0) arm();
  }

  // A deadline whose slot came up, now unfiled: expired, filed again for its later due time,
  // or left unfiled when disarmed.
  void visit(Deadline* d, Clock::rep now) {
    if (d->expired_.load(std::memory_order_relaxed)) return;
    auto due = d->due_.load(std::memory_order_seq_cst);
    if (due <= now) {
      d->expired_.store(true, std::memory_order_release);
      // Under the lock the watched descriptors are still the exchange's (Deadline::watch).
      int fd = d->side_.load(std::memory_order_relaxed) == Deadline::Side::client ? d->client_fd_ : d->upstream_fd_;
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
      return;
    }
    if (due != kNever) file(d, due);
    // Deadline::start stores the due time, then reads the slot: it may have read the slot
    // before this visit unfiled or refiled it, and so not filed an earlier due time itself.
    // Reading the due time again after writing the slot catches that (both seq_cst).
    auto again = d->due_.load(std::memory_order_seq_cst);
    if (again == due || again == kNever) return;
    if (again <= now) {
      if (due != kNever) unfile(d);
      return visit(d, now);
    }
    if (slot_of(again) < d->filed_slot_.load(std::memory_order_relaxed)) {
      if (due != kNever) unfile(d);
      file(d, again);
    }
  }

  Clock::duration const tick;
  std::mutex mu;
  std::array<Deadline*, kSlots> slots{};  // GUARDED_BY(mu)
  std::size_t filed = 0;                  // GUARDED_BY(mu)
  Clock::rep next_slot = slot_of(Clock::now().time_since_epoch().count());  // GUARDED_BY(mu)
  net::steady_timer timer;                // GUARDED_BY(mu)
  bool ticking = false;                   // GUARDED_BY(mu)
};

DeadlineReaper::DeadlineReaper(net::any_io_executor ex, Clock::duration tick)
    : st_(std::make_shared<State>(std::move(ex), tick)) {}

DeadlineReaper::Clock::duration DeadlineReaper::tick_for(Clock::duration shortest) noexcept {
  return std::clamp<Clock::duration>(shortest / 100, std::chrono::milliseconds(5), std::chrono::milliseconds(100));
}

DeadlineReaper::~DeadlineReaper() {
  std::lock_guard lock(st_->mu);
  st_->timer.cancel();
  st_->ticking = true;  // deadlines still alive must not re-arm a timer nobody will run
}

Deadline::~Deadline() {
  // Never filed without registered_; once it was, the reaper may be filing it again right now.
  if (!registered_) return;
  auto& st = *st_;
  std::lock_guard lock(st.mu);
  if (filed_slot_.load(std::memory_order_relaxed) != kNever) st.unfile(this);
}

void Deadline::watch(tcp::socket* client, tcp::socket* upstream) {
  auto& st = *st_;
  std::lock_guard lock(st.mu);
  client_fd_ = client ? client->native_handle() : -1;
  upstream_fd_ = upstream ? upstream->native_handle() : -1;
  registered_ = true;
}

bool Deadline::start(Clock::duration d, Side side) {
  if (expired()) return false;
  side_.store(side, std::memory_order_relaxed);
  auto due = (coarse_steady_now() + d).time_since_epoch().count();
  due_.store(due, std::memory_order_seq_cst);
  // Filed in a slot no later than the due time's: the reaper files it on when that slot comes
  // up. Otherwise file it now (see State::visit for the race with the reaper).
  if (st_->slot_of(due) < filed_slot_.load(std::memory_order_seq_cst)) {
    auto& st = *st_;
    std::lock_guard lock(st.mu);
    registered_ = true;
    auto filed = filed_slot_.load(std::memory_order_relaxed);
    if (st.slot_of(due) < filed) {
      if (filed != kNever) st.unfile(this);
      st.file(this, due);
    }
  }
  return true;
}

void Deadline::disarm() noexcept { due_.store(kNever, std::memory_order_relaxed); }

void Deadline::idle() {
  disarm();
  watch(nullptr, nullptr);
}

}  // namespace nbhub::http
