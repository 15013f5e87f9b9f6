#pragma once
// Helpers for the config tests: load text as if it were a file, and read diagnostics.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "config/load.hpp"

namespace nbhub::config::cfgtest {

using Env = std::map<std::string, std::string>;

inline Loaded load_toml_text(std::string text, Env const& env = {}, CliInvocation const& cli = {}) {
  return load_from(ConfigSource{"nbhub.toml", ConfigFormat::toml, std::move(text)}, cli, env);
}

inline Loaded load_py_text(std::string text, Env const& env = {}, CliInvocation const& cli = {}) {
  return load_from(ConfigSource{"jupyterhub_config.py", ConfigFormat::jupyterhub_py,
                                std::move(text)},
                   cli, env);
}

inline std::vector<std::string> messages(Loaded const& l) {
  std::vector<std::string> out;
  for (auto const& d : l.diagnostics) out.push_back(d.to_string());
  return out;
}

inline std::vector<std::string> errors(Loaded const& l) {
  std::vector<std::string> out;
  for (auto const& d : l.diagnostics)
    if (d.error) out.push_back(d.to_string());
  return out;
}

inline std::vector<std::string> warnings(Loaded const& l) {
  std::vector<std::string> out;
  for (auto const& d : l.diagnostics)
    if (!d.error) out.push_back(d.to_string());
  return out;
}

// Warnings that every config without allow rules or providers gets; tests about other things
// filter them out.
inline std::vector<std::string> other_warnings(Loaded const& l) {
  auto w = warnings(l);
  w.erase(std::remove_if(w.begin(), w.end(),
                         [](std::string const& s) {
                           return s.find("no identity provider is configured") !=
                                      std::string::npos ||
                                  s.find("no allow rule is set") != std::string::npos;
                         }),
          w.end());
  return w;
}

// A minimal valid provider, to append to TOML texts.
inline std::string const kProvider = R"(
[[auth.providers]]
name = "idp"
client_id = "hub"
authorize_url = "https://idp.example.org/authorize"
token_url = "https://idp.example.org/token"
)";

}  // namespace nbhub::config::cfgtest
