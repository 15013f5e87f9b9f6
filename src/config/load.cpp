#include "config/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/builder.hpp"
#include "config/layers.hpp"
#include "config/pyconfig.hpp"
#include "config/toml_loader.hpp"

extern char** environ;

namespace nbhub::config {

bool Loaded::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(),
                      [](Diagnostic const& d) { return d.error; });
}

ConfigFormat format_for(std::string_view path) {
  return path.ends_with(".py") ? ConfigFormat::jupyterhub_py : ConfigFormat::toml;
}

std::optional<std::string> default_config_file(std::filesystem::path const& dir) {
  std::error_code ec;
  for (auto name : {"nbhub.toml", "jupyterhub_config.py"}) {
    auto p = dir / name;
    if (std::filesystem::is_regular_file(p, ec)) return p.string();
  }
  return std::nullopt;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos)
      env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

namespace {

// config_python and python.* for a jupyterhub_config.py, which cannot set them before it is
// read: from NBHUB_* and flags alone (their diagnostics come again in the real pass).
PythonSettings python_settings(CliInvocation const& cli, std::map<std::string, std::string> const& env) {
  ConfigBuilder scratch;
  apply_env(env, scratch);
  apply_flags(cli, scratch);
  return scratch.hub().python;
}

}  // namespace

Loaded load_from(std::optional<ConfigSource> const& source, CliInvocation const& cli,
                 std::map<std::string, std::string> const& env) {
  ConfigBuilder b;
  std::optional<Z2jhOutcome> z2jh;
  if (source) {
    if (source->format == ConfigFormat::toml)
      load_toml(source->text, source->file, b);
    else if (source->format == ConfigFormat::z2jh)
      z2jh = load_z2jh(source->file, env, b, python_settings(cli, env));
    else
      import_pyconfig(source->text, source->file, env, b, python_settings(cli, env));
  }
  name_providers(b);
  apply_env(env, b);
  apply_flags(cli, b);
  apply_compat_env(env, b);
  read_secret_files(b);
  validate(b);
  if (z2jh) z2jh->summary = z2jh_summary(b.hub());
  auto provenance = b.provenance();
  return Loaded{std::move(b.hub()), std::move(b.diagnostics()), source ? source->file : "",
                std::move(z2jh), std::move(provenance)};
}

Loaded load(CliInvocation const& cli, std::map<std::string, std::string> const& env) {
  std::optional<std::string> path = cli.config_file;
  if (!path) {
    std::error_code ec;
    path = default_config_file(std::filesystem::current_path(ec));
  }
  if (!path) return load_from(std::nullopt, cli, env);

  std::ifstream f(*path, std::ios::binary);
  std::stringstream text;
  if (f) text << f.rdbuf();
  if (!f) {
    Loaded out;
    out.config_file = *path;
    out.diagnostics.push_back(
        {*path, 0, "", fmt::format("cannot read the config file: {}", std::strerror(errno))});
    return out;
  }
  auto format = format_for(*path);
  if (format == ConfigFormat::jupyterhub_py && is_z2jh_config(*path, text.str()))
    format = ConfigFormat::z2jh;
  return load_from(ConfigSource{*path, format, text.str()}, cli, env);
}

}  // namespace nbhub::config
