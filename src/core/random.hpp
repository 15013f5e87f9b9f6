#pragma once
// Randomness for state, nonce, PKCE, cookies and tokens (STYLE.md §7). If the CSPRNG fails,
// the caller fails the request rather than using weak bytes.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>

namespace nbhub {

class Random {
 public:
  virtual ~Random() = default;
  [[nodiscard]] virtual bool fill(std::span<std::uint8_t> out) = 0;

  // `n` random bytes, base64url without padding; nullopt when the generator failed.
  std::optional<std::string> token(std::size_t n);
  std::optional<std::string> bytes(std::size_t n);
};

class OpenSslRandom final : public Random {
 public:
  bool fill(std::span<std::uint8_t> out) override;
};

// Test double: returns scripted bytes (repeating the last byte when exhausted), or fails.
class FakeRandom final : public Random {
 public:
  bool fail = false;
  std::uint8_t next = 0;
  bool fill(std::span<std::uint8_t> out) override {
    if (fail) return false;
    for (auto& b : out) b = next++;
    return true;
  }
};

}  // namespace nbhub
