#pragma once
// Deadlines for socket operations without a timer per operation: the proxy's exchanges and
// the listener's request heads. Beast's tcp_stream arms, cancels and dispatches a timer for
// every read and write, and even one timer per exchange (arm, cancel, a handler through the
// strand) showed in profiles. Here an operation only stores its due time in an atomic, read
// from the coarse monotonic clock (core/clock.hpp), and one reaper per owner keeps the
// deadlines in a timing wheel with one slot per `tick` (deadline.cpp): it wakes every tick
// while deadlines are filed, visits only that tick's slot, and shuts down the sockets of those
// past due. Timeouts therefore fire between due and due + tick (+ one kernel tick, the coarse
// clock's); `tick_for` gives owners a hundredth of their shortest timeout, 5 to 100 ms (a
// quarter, up to 1 s, before the wheel: a 5 s limit fired up to 6.25 s).
// Only the socket of the late operation is shut down, so that a client still gets its 504
// when the upstream is the slow side.
//
// Shutting down (shutdown(2), from the reaper's thread) rather than cancelling: Asio socket
// objects are not thread-safe, the kernel's shutdown is, and it makes the pending and every
// later operation on the socket fail at once. The exchange then reads `expired()`.
//
// A Deadline lives in one exchange's coroutine frame and is used on its strand. It must stop
// watching a socket before that socket is closed or handed on (its descriptor number could be
// reused), which is what `watch` with other sockets, `idle`, and the destructor do.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace nbhub::http {

class DeadlineReaper {
 public:
  using Clock = std::chrono::steady_clock;
  // `ex` runs the reaper's timer (any io_context executor).
  DeadlineReaper(boost::asio::any_io_executor ex, Clock::duration tick);
  // The tick for an owner whose shortest timeout is `shortest`: a hundredth of it, so that a
  // deadline fires at most 1% late, within 5 to 100 ms.
  static Clock::duration tick_for(Clock::duration shortest) noexcept;
  ~DeadlineReaper();
  DeadlineReaper(DeadlineReaper const&) = delete;
  DeadlineReaper& operator=(DeadlineReaper const&) = delete;

  struct State;  // the registered deadlines and the timer; shared with the timer's handler

 private:
  friend class Deadline;
  std::shared_ptr<State> st_;
};

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(DeadlineReaper& reaper) : st_(reaper.st_) {}
  ~Deadline();  // stops watching
  Deadline(Deadline const&) = delete;
  Deadline& operator=(Deadline const&) = delete;

  enum class Side { client, upstream };
  // The exchange's sockets (null for none).
  void watch(boost::asio::ip::tcp::socket* client, boost::asio::ip::tcp::socket* upstream);
  // Call before each operation on `side`: it must finish within `d`, or that side's socket is
  // shut down. False when the deadline has already expired (do not start the operation).
  bool start(Clock::duration d, Side side);
  // No operation is pending; the sockets stay watched for the next `start`.
  void disarm() noexcept;
  // No operation is pending and none is watched until the next `watch`.
  void idle();
  bool expired() const noexcept { return expired_.load(std::memory_order_acquire); }

 private:
  friend struct DeadlineReaper::State;

  std::shared_ptr<DeadlineReaper::State> st_;  // may outlive the reaper (frames torn down late)
  std::atomic<Clock::rep> due_{Clock::time_point::max().time_since_epoch().count()};
  // The wheel's tick this deadline is filed in (max: not filed); written under the reaper's
  // mutex, read by `start` without it.
  std::atomic<Clock::rep> filed_slot_{Clock::time_point::max().time_since_epoch().count()};
  std::atomic<bool> expired_{false};
  std::atomic<Side> side_{Side::upstream};  // whose operation `due_` is for
  int client_fd_ = -1;                      // GUARDED_BY(reaper's mutex)
  int upstream_fd_ = -1;
  bool registered_ = false;   // watch or start took the mutex once: the destructor takes it too
  Deadline* prev_ = nullptr;  // the wheel slot's intrusive list, GUARDED_BY(reaper's mutex)
  Deadline* next_ = nullptr;
};

}  // namespace nbhub::http
