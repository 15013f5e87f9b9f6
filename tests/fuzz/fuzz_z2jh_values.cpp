// The z2jh chart's values.yaml reaches the hub as a mounted secret written by Helm from user
// values: the reader turns any YAML (anchors, tags, deep nesting, odd scalars) into values or
// one error naming the file and line, and lookups on what it read never crash.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/z2jh_values.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view text(reinterpret_cast<char const*>(data), size);
  // The first line, when it is short, doubles as an overlay (existing-secret over secret).
  auto nl = text.find('\n');
  std::string_view overlay = nl != std::string_view::npos && nl < 64 ? text.substr(0, nl) : std::string_view{};
  auto v = nbhub::config::z2jh::Values::parse(text, "secret/values.yaml", overlay, "existing-secret/values.yaml");
  if (!v) return 0;
  for (auto const* key : {"hub.config", "singleuser.image.name", "hub.extraConfig", "proxy.https.hosts",
                          "singleuser.profileList", "a.b.c.d.e"}) {
    (void)v->find(key);
    (void)v->has(key);
    (void)v->place(key);
  }
  return 0;
}
