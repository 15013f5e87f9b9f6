#pragma once
// Applies values from any layer (file, environment, flags) to a HubConfig through the option
// table, remembering which options were set where, and collecting diagnostics. The loaders
// (TOML, jupyterhub_config.py, environment, flags) all write through one ConfigBuilder, so type
// checks and messages are the same whatever the source.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"
#include "config/options.hpp"
#include "config/provenance.hpp"

namespace nbhub::config {

class ConfigBuilder {
 public:
  ConfigBuilder() = default;

  // Hub-level option (a key of the option table such as "http.body_limit_bytes"). A bad value
  // leaves the option as it was and records an error; returns whether the value was stored.
  bool set(std::string_view key, Value const& v, Origin const& where);
  bool set(Option const& opt, Value const& v, Origin const& where);

  // Providers, in configuration order.
  int add_provider(Origin const& where);
  bool set_provider(int index, std::string_view key, Value const& v, Origin const& where);
  bool set_provider(int index, Option const& opt, Value const& v, Origin const& where);
  int provider_count() const { return static_cast<int>(hub_.auth.providers.size()); }
  ProviderConfig const& provider(int index) const { return hub_.auth.providers[index]; }
  Origin const& provider_origin(int index) const { return provider_origin_[index]; }

  // Where an option was last set, or nullptr while it holds its built-in default.
  // `provider` is -1 for hub-level options.
  Origin const* origin_of(int provider, std::string_view key) const;

  void error(Origin const& where, std::string message);
  void warn(Origin const& where, std::string message);
  void add(Diagnostic d) { diagnostics_.push_back(std::move(d)); }

  // Where every option that is not at its default was set (GET /hub/api/config).
  Provenance provenance() const;

  HubConfig& hub() { return hub_; }
  HubConfig const& hub() const { return hub_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

 private:
  HubConfig hub_;
  std::vector<Diagnostic> diagnostics_;
  std::map<std::string, Origin, std::less<>> hub_set_;
  std::vector<std::map<std::string, Origin, std::less<>>> provider_set_;
  std::vector<Origin> provider_origin_;
};

// JupyterHub's bind_url / --url: "http://:8000/jupyter/" -> ip "", port 8000, path "/jupyter/".
struct BindUrl {
  std::string ip;
  int port = 0;
  std::string path;
};
std::optional<BindUrl> parse_bind_url(std::string_view url);

}  // namespace nbhub::config
