// Bearer tokens and ID tokens are attacker-controlled until verified: parsing any bytes must
// fail cleanly or yield a token whose algorithm check behaves.
#include <cstdint>
#include <string>
#include <string_view>

#include "jwt/jws.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view compact(reinterpret_cast<char const*>(data), size);
  auto jws = nbhub::jwt::Jws::parse(compact);
  if (!jws) return 0;
  std::string const allowed[] = {"RS256", "ES256"};
  (void)nbhub::jwt::check_alg_allowed(*jws, allowed);
  return 0;
}
