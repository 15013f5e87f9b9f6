// The redirect gate: whatever comes in, an accepted `next` is a same-origin path under base_url.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/next_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<char const*>(data), size);
  for (auto const* base : {"/", "/jupyter/"}) {
    auto r = nbhub::validate_next_url(raw, {.base_url = base});
    if (!r) continue;
    std::string_view out = *r;
    std::string_view prefix = base;
    // base_url itself without its trailing slash ("/jupyter?x") is under it too.
    auto bare = prefix.substr(0, prefix.size() > 1 ? prefix.size() - 1 : prefix.size());
    bool under = out.starts_with(prefix) ||
                 (out.starts_with(bare) && (out.size() == bare.size() || out[bare.size()] == '?' ||
                                            out[bare.size()] == '#'));
    // Each of these would be an open redirect or a header injection.
    if (!under) std::abort();
    if (out.starts_with("//") || out.starts_with("/\\")) std::abort();
    for (unsigned char c : out)
      if (c < 0x20 || c == 0x7f || c == '\\') std::abort();
  }
  return 0;
}
