#pragma once
// A value that must never be logged: formats as "[redacted]" until reveal() (STYLE.md §7).
#include <fmt/format.h>

#include <string>
#include <string_view>

namespace nbhub {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string v) : v_(std::move(v)) {}
  std::string const& reveal() const noexcept { return v_; }
  bool empty() const noexcept { return v_.empty(); }
  // Tokens are identified in logs by their first four characters, as JupyterHub does.
  std::string prefix() const { return v_.substr(0, 4) + "…"; }
  bool operator==(Secret const&) const = default;

 private:
  std::string v_;
};

}  // namespace nbhub

template <>
struct fmt::formatter<nbhub::Secret> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(nbhub::Secret const&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("[redacted]", ctx);
  }
};
