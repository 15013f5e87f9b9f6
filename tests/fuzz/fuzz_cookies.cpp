// Cookie headers come from any client: lookups never crash, and a found value has no separator.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/cookies.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view header(reinterpret_cast<char const*>(data), size);
  for (auto const* name : {"nbhub-hub-login", "nbhub-oauth-state", "_xsrf"}) {
    auto v = nbhub::http::find_cookie(header, name);
    if (v && v->find(';') != std::string::npos) std::abort();
  }
  return 0;
}
