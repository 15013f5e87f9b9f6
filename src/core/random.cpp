#include "core/random.hpp"

#include "core/crypto.hpp"

#include <openssl/rand.h>

#include <vector>

namespace nbhub {

bool OpenSslRandom::fill(std::span<std::uint8_t> out) {
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

std::optional<std::string> Random::bytes(std::size_t n) {
  std::string raw(n, '\0');
  if (!fill({reinterpret_cast<std::uint8_t*>(raw.data()), n})) return std::nullopt;
  return raw;
}

std::optional<std::string> Random::token(std::size_t n) {
  auto raw = bytes(n);
  if (!raw) return std::nullopt;
  return crypto::base64url_encode(*raw);
}

}  // namespace nbhub
