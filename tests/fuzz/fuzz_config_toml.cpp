// nbhub.toml comes from the operator, but a typo, a merge conflict or a file cut short must give
// diagnostics, never a crash: the whole load (TOML reader, option table, validation) runs here.
#include <cstdint>
#include <string>

#include "config/cli.hpp"
#include "config/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  nbhub::config::ConfigSource src{.file = "nbhub.toml", .format = nbhub::config::ConfigFormat::toml,
                                  .text = std::string(reinterpret_cast<char const*>(data), size)};
  auto loaded = nbhub::config::load_from(src, nbhub::config::CliInvocation{}, {});
  (void)loaded;
  return 0;
}
