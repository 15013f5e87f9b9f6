#pragma once
// Internal to config/ (z2jh mode, config/z2jh.hpp): the one table of what z2jh's own
// jupyterhub_config.py does with the Helm values (spec/kubernetes.md §1.10, §1.11), and the
// values nbhub does not map, with the reason. docs/kubernetes.md describes the same table.
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/builder.hpp"
#include "config/pyconfig_parser.hpp"
#include "config/z2jh.hpp"
#include "config/z2jh_values.hpp"

namespace nbhub::config::z2jh {

// A jupyterhub_config.d file or an extraConfig entry, with what the literal reader made of it.
struct PythonPiece {
  std::string name, path, text;
  py::ParseResult parsed;
};

struct Context {
  Values const& values;
  std::map<std::string, std::string> const& env;
  std::filesystem::path dir;  // the config file's directory (/usr/local/etc/jupyterhub)
  ConfigBuilder& b;
  Z2jhOutcome& outcome;
  std::vector<py::Assignment> out;  // what the chart's Python would assign, in its order
  int chart_major = 4;              // Chart.Version's major number (1 for the 1.2.0 chart)
  std::vector<PythonPiece> pieces;  // in the chart's order (z2jh.cpp python_pieces)
  bool python_done = false;         // the pieces ran in Python and were imported with `out`
};

struct Rule {
  std::string_view key;     // values key read ("singleuser.image.name")
  std::string_view target;  // "KubeSpawner.image" (a trait), or an nbhub option ("cull.enabled")
  void (*apply)(Context&, Rule const&);
  std::string_view note;    // how, when it is not verbatim
};

// In the order z2jh's jupyterhub_config.py runs them.
std::span<const Rule> rules();
void apply_rules(Context& ctx);

// ---- for the rule files ------------------------------------------------------------------
bool present(Value const* v);               // there and not null
bool empty_container(Value const& v);       // [] or {}
std::string text_of(Value const& v);        // a string as it is, else Python's str()
Origin origin_at(Context const& ctx, std::string_view key);  // where a values key was written
// `c.<Section>.<trait> = v` (or .append(v)), as the chart's Python writes it, placed at `key`.
void assign(Context& ctx, std::string_view target, Value v, std::string_view key,
            py::Assignment::Op op = py::Assignment::Op::assign);
void option(Context& ctx, std::string_view name, Value v, std::string_view key);  // nbhub's own

// Hub-side rows (z2jh_hub_rules.cpp).
void rule_proxy_api(Context& ctx, Rule const& r);
void rule_db(Context& ctx, Rule const& r);
void rule_hub_urls(Context& ctx, Rule const& r);
void rule_namespace(Context& ctx, Rule const& r);
void rule_cull(Context& ctx, Rule const& r);
void rule_services(Context& ctx, Rule const& r);
void rule_load_roles(Context& ctx, Rule const& r);
void rule_debug(Context& ctx, Rule const& r);
void rule_secrets(Context& ctx, Rule const& r);

// singleuser.storage.*, singleuser.extraFiles: KubeSpawner.volumes, volume_mounts and the
// storage_* traits (z2jh_storage.cpp).
void apply_storage(Context& ctx);

// A resource name from the chart's config/<name> file (z2jh.py's get_name), else the chart's
// default for release `release` ("proxy-api", "<release>-user-scheduler", ...).
std::string chart_name(Context const& ctx, std::string_view name);

}  // namespace nbhub::config::z2jh
