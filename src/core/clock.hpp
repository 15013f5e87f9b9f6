#pragma once
// Time enters through this seam so expiry logic is testable without sleeping (STYLE.md §5).
#include <chrono>
#include <cstdint>

namespace nbhub {

class Clock {
 public:
  using SysTime = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual SysTime now() const = 0;  // wall clock: token expiry, cookies, activity
  // The wall clock to within a few milliseconds (one kernel tick), at a fraction of now()'s
  // cost: for stamps taken per proxied request or WebSocket message (route activity).
  virtual SysTime coarse_now() const { return now(); }
  std::int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  SysTime now() const override { return std::chrono::system_clock::now(); }
  SysTime coarse_now() const override;
};

// steady_clock::now() to within one kernel tick (1 to 10 ms), several times cheaper: for
// deadlines that are checked by a periodic sweep anyway (http/deadline.hpp). Same epoch as
// steady_clock (CLOCK_MONOTONIC), so the two compare.
std::chrono::steady_clock::time_point coarse_steady_now() noexcept;

// For tests: time moves only when the test says so.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SysTime start) : now_(start) {}
  SysTime now() const override { return now_; }
  void advance(std::chrono::system_clock::duration d) { now_ += d; }
  void set(SysTime t) { now_ = t; }

 private:
  SysTime now_;
};

}  // namespace nbhub
