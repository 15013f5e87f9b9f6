// Form bodies and query strings come from any browser: decoding never crashes, and what
// url_encode makes of a decoded value decodes back to it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/form.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view body(reinterpret_cast<char const*>(data), size);
  auto fields = nbhub::web::parse_form(body);
  for (auto const& [k, v] : fields) {
    auto again = nbhub::web::parse_form("k=" + nbhub::web::url_encode(v));
    if (again.size() != 1 || again.begin()->second != v) std::abort();
  }
  return 0;
}
