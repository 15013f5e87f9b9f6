#pragma once
// Deadlines for one proxied exchange with one timer instead of one per operation. Beast's
// tcp_stream arms, cancels and dispatches a timer for every read and write; on a proxy that
// is a third of the per-request work. Here each operation only moves `due` forward (a store);
// the timer, when it fires, re-arms itself if `due` moved, and otherwise cancels the watched
// sockets' operations.
//
// Executor: construct, use and destroy on the strand the exchange runs on; the timer's
// handler runs there too. After expiry every later `start` reports expiry, so an operation
// whose completion was already queued when the timer fired cannot start a new wait.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace nbhub::proxy {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(boost::asio::any_io_executor strand);
  ~Deadline();  // cancels the timer; its handler then finds the deadline detached
  Deadline(Deadline const&) = delete;
  Deadline& operator=(Deadline const&) = delete;

  // The sockets whose operations expiry cancels (null for none). They must outlive the
  // deadline or be unwatched first.
  void watch(boost::asio::ip::tcp::socket* a, boost::asio::ip::tcp::socket* b = nullptr);
  // Call before each operation: the operation must finish within `d`. False when the deadline
  // has already expired (do not start the operation).
  bool start(Clock::duration d);
  // No operation is pending: stop the timer's effect until the next `start`.
  void idle() noexcept;
  bool expired() const noexcept;

  struct State;  // shared with the timer's handler

 private:
  void arm();
  std::shared_ptr<State> st_;
};

}  // namespace nbhub::proxy
