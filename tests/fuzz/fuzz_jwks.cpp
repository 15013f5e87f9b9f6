// JWKS documents come from the network (a compromised or broken IdP): parse without crashing.
#include <cstdint>
#include <string_view>

#include "jwt/jwks.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view json(reinterpret_cast<char const*>(data), size);
  (void)nbhub::jwt::Jwks::parse(json, "fuzz");
  return 0;
}
