#pragma once
// Time enters through this seam so expiry logic is testable without sleeping (STYLE.md §5).
#include <chrono>

namespace nbhub {

class Clock {
 public:
  using SysTime = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual SysTime now() const = 0;  // wall clock: token expiry, cookies, activity
  std::int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  SysTime now() const override { return std::chrono::system_clock::now(); }
};

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
