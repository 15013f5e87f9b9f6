#include "http/io_loop.hpp"

#include <algorithm>

#include <sched.h>

namespace nbhub::http {

void PollWindow::idle_ended(Duration idle) noexcept {
  if (idle <= window_) return;  // polling caught it: the window is right
  if (idle <= max_) {
    // A larger window would have caught it. Start from a quarter of the largest (haltpoll
    // starts at 50 of 200 us), then double.
    window_ = std::min(max_, std::max(max_ / 4, window_ * 2));
  } else {
    window_ /= 2;  // the gaps are longer than polling may cover: poll less
    if (window_ < max_ / 16) window_ = Duration::zero();
  }
}

void run_io_context(boost::asio::io_context& ioc, std::chrono::microseconds max_poll) {
  if (max_poll <= std::chrono::microseconds::zero()) {
    ioc.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  PollWindow window(max_poll);
  while (!ioc.stopped()) {
    if (ioc.poll() != 0) continue;  // poll() also reads the sockets (epoll_wait without waiting)
    // Idle: poll for the window, then block.
    auto const idle_since = Clock::now();
    auto const poll_until = idle_since + window.window();
    std::size_t ran = 0;
    while (ran == 0 && Clock::now() < poll_until) {
      // Polling may use only a CPU nobody else wants: a process waiting for this CPU (on a
      // small machine, the very peer the proxy waits for) runs first.
      sched_yield();
      ran = ioc.poll();
    }
    if (ran == 0) ran = ioc.run_one();
    if (ran == 0) break;  // stopped, or out of work
    window.idle_ended(Clock::now() - idle_since);
  }
}

}  // namespace nbhub::http
