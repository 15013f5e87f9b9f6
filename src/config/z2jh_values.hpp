#pragma once
// The values a zero-to-jupyterhub hub pod sees (spec/kubernetes.md §1.3, §1.4): the chart's
// `secret/values.yaml` (every merged Helm value, plus Chart and Release), deep-merged with
// `existing-secret/values.yaml` when hub.existingSecret is mounted, and the single-key secret
// files beside them (existing-secret first).
//
// YAML is read with yaml-cpp 0.7 (Debian libyaml-cpp-dev): Helm writes ordinary block-style
// YAML with `|-` scalars, which it reads fully; it keeps the line of every node for messages.
// Scalars are typed as YAML 1.2's core schema (what Helm's emitter means): plain `true`/`false`,
// `null`/`~`/empty, integers and floats; quoted and block scalars are always strings.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/value.hpp"
#include "core/result.hpp"

namespace nbhub::config::z2jh {

// Where a value was written, for diagnostics.
struct Place {
  std::string file;  // the values.yaml it came from (the later of the two when merged)
  int line = 0;      // 1-based
};

class Values {
 public:
  // Reads `<dir>/secret/values.yaml`, and `<dir>/existing-secret/values.yaml` over it when that
  // file exists. Errc::config naming file and line when a file is missing or is not YAML, or
  // when its top level is not a mapping.
  static Result<Values> load(std::filesystem::path const& dir);
  // The same from text (tests); `overlay` may be empty.
  static Result<Values> parse(std::string_view base, std::string const& base_name,
                              std::string_view overlay = {}, std::string const& overlay_name = {});

  // The value at a dotted key ("singleuser.image.name"), or nullptr when absent. A key that
  // holds a dot itself (extraConfig's "00-custos" holds none; labels like
  // "hub.jupyter.org/network-access-hub" do) is reached through its parent's dict.
  Value const* find(std::string_view dotted) const;
  // Present and not null.
  bool has(std::string_view dotted) const;
  Place place(std::string_view dotted) const;  // the nearest known ancestor's place
  Value const& root() const { return root_; }

 private:
  Value root_ = Value::dict();
  std::map<std::string, Place, std::less<>> places_;  // dotted key -> where it was written
};

// A single-key secret file of the hub pod (`existing-secret/<key>`, else `secret/<key>`), with
// surrounding blanks kept as Kubernetes writes them. nullopt when neither exists.
std::optional<std::string> read_secret_key(std::filesystem::path const& dir, std::string const& key);

// Dict lookup by string key within a Value.
Value const* member(Value const& dict, std::string_view key);

}  // namespace nbhub::config::z2jh
