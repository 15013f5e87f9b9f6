// jupyterhub_config.py run by Python answers as one JSON document (config/pyeval.hpp): the
// values the file ended with, the functions it gave to hooks, its classes and subclasses, or
// its exception. Whatever the file built (any strings, nesting, keys) reaches this reader and
// the option table behind it; any document is read into values or diagnostics, never a crash.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/builder.hpp"
#include "config/pyconfig.hpp"
#include "config/pyeval.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view text(reinterpret_cast<char const*>(data), size);
  auto outcome = nbhub::config::pyeval::parse_output(text, "jupyterhub_config.py");
  nbhub::config::ConfigBuilder b;
  (void)nbhub::config::import_python_outcome(std::move(outcome), "jupyterhub_config.py", b, {});
  return 0;
}
