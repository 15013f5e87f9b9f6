#pragma once
// Running an io_context on a thread, with adaptive busy polling before each blocking wait.
//
// Why poll at all: on a virtual machine (where most hubs run) a thread that blocks in
// epoll_wait lets its vCPU halt, and waking it again costs the waker an inter-processor
// interrupt through the hypervisor and the woken thread tens of microseconds. Under load the
// proxy's next event is usually that close: its upstream answers, or the client sends the next
// request, a few dozen microseconds after the proxy went to sleep. Polling for that long first
// (a non-blocking run of the io_context) keeps the thread and its vCPU awake through such gaps.
// HAProxy offers the same as `busy-polling`, always on; here the window adapts instead, the way
// Linux's cpuidle-haltpoll governor sizes a guest's halt polling, so that a quiet hub does not
// spin: it grows while idle periods end within the largest window, and shrinks when they
// outlast it.
//
// Only for an io_context run by one thread (the proxy's default): several threads polling one
// scheduler would contend on its lock.
#include <boost/asio/io_context.hpp>

#include <chrono>

namespace nbhub::http {

// The polling window: pure state, advanced by what the loop measured (tested without time).
class PollWindow {
 public:
  using Duration = std::chrono::nanoseconds;

  // `max`: the largest window; zero disables polling.
  explicit PollWindow(Duration max) : max_(max) {}

  // How long to poll before blocking, this time.
  Duration window() const noexcept { return window_; }
  // An idle period ended after `idle` (polling plus blocking). Periods the largest window
  // would have covered grow the window, longer ones halve it.
  void idle_ended(Duration idle) noexcept;

 private:
  Duration max_;
  Duration window_{0};
};

// Runs `ioc` on the calling thread until it is stopped or runs out of work, as ioc.run() does,
// polling up to `max_poll` (adaptively, PollWindow) before each blocking wait. A zero
// `max_poll` is ioc.run().
void run_io_context(boost::asio::io_context& ioc, std::chrono::microseconds max_poll);

}  // namespace nbhub::http
