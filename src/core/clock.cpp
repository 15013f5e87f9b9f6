#include "core/clock.hpp"

#include <time.h>

namespace nbhub {

namespace {

template <class TimePoint>
TimePoint read(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  using D = typename TimePoint::duration;
  return TimePoint(std::chrono::duration_cast<D>(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace

// The _COARSE clocks read the time of the last kernel tick from the vDSO page: no TSC read,
// no system call.
Clock::SysTime SystemClock::coarse_now() const { return read<SysTime>(CLOCK_REALTIME_COARSE); }

std::chrono::steady_clock::time_point coarse_steady_now() noexcept {
  return read<std::chrono::steady_clock::time_point>(CLOCK_MONOTONIC_COARSE);
}

}  // namespace nbhub
