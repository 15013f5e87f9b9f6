// jupyterhub_config.py files are copied from anywhere (z2jh extraConfig snippets, old hubs): the
// literal importer (lexer, parser, evaluator, trait tables) answers any text with diagnostics.
// import_pyconfig is called directly, so no Python process is ever started from here.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/builder.hpp"
#include "config/pyconfig.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view text(reinterpret_cast<char const*>(data), size);
  std::map<std::string, std::string> env{{"HOME", "/home/x"}, {"OAUTH_CLIENT_ID", "id"}};
  nbhub::config::ConfigBuilder b;
  nbhub::config::import_pyconfig(text, "jupyterhub_config.py", env, b);
  return 0;
}
