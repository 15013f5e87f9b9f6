#include "config/z2jh.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "config/pyconfig.hpp"
#include "config/pyeval.hpp"
#include "config/text.hpp"
#include "config/z2jh_mapping.hpp"
#include "config/z2jh_values.hpp"

namespace nbhub::config {

namespace {

namespace fs = std::filesystem;
using z2jh::Context;
using z2jh::Values;

// What the chart seeds from its Secret itself, so hub.config copies of them are dropped first
// (as the chart's Python does).
bool dropped(std::string_view section, std::string_view trait) {
  if (section == "JupyterHub")
    return trait == "proxy_auth_token" || trait == "cookie_secret" || trait == "services";
  if (section == "ConfigurableHTTPProxy") return trait == "auth_token";
  if (section == "CryptKeeper") return trait == "keys";
  return false;
}

void pass_through(Context& ctx) {
  auto const* config = ctx.values.find("hub.config");
  if (!config || config->kind != Value::Kind::dict) return;
  for (auto const& [section_key, traits] : config->entries) {
    auto const& section = section_key.string;
    auto key = "hub.config." + section;
    auto p = ctx.values.place(key);
    Origin where{p.file, p.line, key, Layer::file};
    if (section.empty() || !(section.front() >= 'A' && section.front() <= 'Z')) {
      // The chart's Python exits here too: a lower-case section is a misplaced value.
      ctx.b.error(where, "hub.config sections must be configurable class names such as "
                         "JupyterHub (upper-case first letter); is this value misplaced?");
      continue;
    }
    if (traits.kind != Value::Kind::dict) {
      ctx.b.error(where, "expected a dict of traits");
      continue;
    }
    for (auto const& [trait, value] : traits.entries) {
      if (dropped(section, trait.string)) continue;
      auto tp = ctx.values.place(key + "." + trait.string);
      py::Assignment a;
      a.line = tp.line;
      a.file = tp.file;
      a.section = section;
      a.trait = trait.string;
      a.value = value;
      a.text = py::is_secret_trait(trait.string) ? "" : key + "." + trait.string;
      ctx.out.push_back(std::move(a));
    }
  }
}

// The pieces of Python (jupyterhub_config.d files, extraConfig entries) in the chart's order,
// each read by the literal-subset reader; whether they are then used, or all run by Python
// instead, is decided once every piece is known (python_pieces).
void python_piece(Context& ctx, std::string const& name, std::string_view text, std::string path = {}) {
  ctx.pieces.push_back({name, std::move(path), std::string(text), py::parse(text, name, ctx.env)});
}

// Literal reading (each piece's diagnostics name `name` and the line within the piece), or,
// with config_python "always", or "auto" when a piece has lines literals cannot express, one
// Python run of every piece over the chart's settings (config/pyeval.hpp): z2jh's helpers read
// the same values, and a later piece sees what earlier ones set.
void python_pieces(Context& ctx, PythonSettings const& python, std::string const& config_file) {
  auto pieces = std::move(ctx.pieces);
  ctx.pieces.clear();
  bool const literal_ok = std::all_of(pieces.begin(), pieces.end(), [](z2jh::PythonPiece const& p) {
    return !p.parsed.syntax_error && std::none_of(p.parsed.diagnostics.begin(), p.parsed.diagnostics.end(),
                                                  [](Diagnostic const& d) { return d.error; });
  });
  bool const want = !pieces.empty() && (python.config_python == "always" ||
                                        (python.config_python == "auto" && !literal_ok));
  if (want) {
    auto path_it = ctx.env.find("PATH");
    auto exe = pyeval::find_executable(python.executable, path_it != ctx.env.end() ? path_it->second : "");
    if (exe) {
      pyeval::Request req;
      for (auto const& p : pieces) req.pieces.push_back({p.name, p.path, p.text});
      req.dir = ctx.dir.string();
      boost::system::error_code ec;
      req.values = boost::json::parse(to_json(ctx.values.root()), ec);
      req.initial = ctx.out;
      auto outcome = pyeval::evaluate(req, {python.executable, python.eval_timeout, python.max_output_bytes},
                                      *exe, ctx.env);
      ctx.b.hub().python.evaluated_file = config_file;
      ctx.b.hub().python.helper_context = pyeval::context_json(req, python.hook_timeout);
      auto before = std::move(ctx.out);
      ctx.out.clear();
      import_python_outcome(std::move(outcome), config_file, ctx.b, std::move(before));
      ctx.python_done = true;
      return;
    }
    ctx.b.warn(Origin{config_file, 0, "config_python", Layer::file, true},
               fmt::format("{} was not found in PATH, so the Python below that literals cannot express "
                           "is not read",
                           python.executable));
  }
  for (auto& p : pieces) {
    for (auto& d : p.parsed.diagnostics) ctx.b.add(std::move(d));
    if (p.parsed.syntax_error) continue;  // Python would refuse the whole piece
    for (auto& a : p.parsed.assignments) {
      a.file = p.name;
      ctx.out.push_back(std::move(a));
    }
  }
}

void config_d(Context& ctx) {
  std::error_code ec;
  auto dir = ctx.dir / "jupyterhub_config.d";
  if (!fs::is_directory(dir, ec)) return;
  std::vector<fs::path> files;
  for (auto const& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".py") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto const& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    python_piece(ctx, f.string(), ss.str(), std::filesystem::absolute(f).string());
  }
}

void extra_config(Context& ctx) {
  auto const* extra = ctx.values.find("hub.extraConfig");
  if (!extra || extra->kind != Value::Kind::dict) return;
  std::vector<std::pair<std::string, Value const*>> pieces;
  for (auto const& [k, v] : extra->entries) pieces.emplace_back(k.string, &v);
  std::sort(pieces.begin(), pieces.end(),
            [](auto const& a, auto const& b) { return a.first < b.first; });
  for (auto const& [k, v] : pieces) {
    auto key = "hub.extraConfig." + k;
    if (v->kind != Value::Kind::string) {
      auto p = ctx.values.place(key);
      ctx.b.error(Origin{p.file, p.line, key, Layer::file}, "expected Python text");
      continue;
    }
    python_piece(ctx, key, v->string);
  }
}

int chart_major(Values const& v) {
  auto const* ver = v.find("Chart.Version");
  if (!ver || ver->kind != Value::Kind::string) return 4;
  int major = 4;
  std::from_chars(ver->string.data(), ver->string.data() + ver->string.size(), major);
  return major;
}

}  // namespace

bool is_z2jh_config(fs::path const& file, std::string_view text) {
  if (text.find("from z2jh import") != std::string_view::npos ||
      text.find("import z2jh") != std::string_view::npos)
    return true;
  std::error_code ec;
  auto dir = file.parent_path();
  if (dir.empty()) dir = ".";
  return fs::is_regular_file(dir / "z2jh.py", ec) &&
         fs::is_regular_file(dir / "secret" / "values.yaml", ec);
}

Z2jhOutcome load_z2jh(fs::path const& config_file, std::map<std::string, std::string> const& env,
                      ConfigBuilder& b, PythonSettings const& python) {
  Z2jhOutcome outcome;
  auto dir = config_file.parent_path();
  if (dir.empty()) dir = ".";
  auto values = Values::load(dir);
  if (!values) {
    b.error(Origin{config_file.string(), 0, "", Layer::file},
            "z2jh mode (this is zero-to-jupyterhub's jupyterhub_config.py, which nbhub reads "
            "through the chart's values instead of running it): " + values.error().message);
    return outcome;
  }
  Context ctx{*values, env, dir, b, outcome};
  ctx.chart_major = chart_major(*values);
  z2jh::apply_rules(ctx);
  // Chart 1.x runs jupyterhub_config.d before the hub.config pass-through; 2+ after it.
  if (ctx.chart_major < 2) config_d(ctx);
  pass_through(ctx);
  if (ctx.chart_major >= 2) config_d(ctx);
  extra_config(ctx);
  python_pieces(ctx, python, config_file.string());
  if (!ctx.python_done) import_assignments(ctx.out, config_file.string(), b);
  return outcome;
}

std::vector<std::string> z2jh_summary(HubConfig const& h) {
  std::vector<std::string> out;
  auto add = [&](std::string_view k, std::string const& v) { out.push_back(fmt::format("{} = {}", k, v)); };
  add("spawner.kind", h.spawner);
  add("base_url", h.base_url);
  add("ip", dquoted(h.ip));
  add("hub_bind_url", h.hub_bind_url);
  add("hub_connect_url", h.hub_connect_url);
  // A PostgreSQL URL may hold a password: only its scheme is shown.
  add("db_url", h.db_url.starts_with("sqlite") ? h.db_url : h.db_url.substr(0, h.db_url.find(':')) + "://...");
  add("proxy.chp_api_url", h.proxy.chp_api_url);
  add("cull", fmt::format("enabled={} timeout={}s every={}s max_age={}s users={}", h.cull.enabled,
                          h.cull.timeout.count(), h.cull.every.count(), h.cull.max_age.count(), h.cull.users));
  auto const& s = h.spawner_settings;
  add("spawner.cmd", fmt::format("[{}]", fmt::join(s.cmd, ", ")));
  add("spawner.default_url", s.default_url);
  add("spawner.start_timeout_seconds", std::to_string(s.start_timeout.count()));
  add("spawner.concurrent_spawn_limit", std::to_string(s.concurrent_spawn_limit));
  add("spawner.active_server_limit", std::to_string(s.active_server_limit));
  add("spawner.allow_named_servers", s.allow_named_servers ? "true" : "false");
  add("spawner.named_server_limit_per_user", std::to_string(s.named_server_limit_per_user));
  std::vector<std::string> env_names;  // values may be secrets
  for (auto const& [k, _] : s.environment) env_names.push_back(k);
  add("spawner.environment (names)", fmt::format("[{}]", fmt::join(env_names, ", ")));
  for (auto const& [k, v] : h.spawner_options) {
    auto trait = std::string_view(k).substr(k.find('.') + 1);
    add(k, py::is_secret_trait(trait) ? std::string("[redacted]") : v);
  }
  for (auto const& p : h.auth.providers)
    add(fmt::format("auth.providers.{}", p.name),
        fmt::format("kind={} login_service={} client_id={} custos_host={} oauth_callback_url={}",
                    p.kind, dquoted(p.login_service), dquoted(p.client_id), dquoted(p.custos_host),
                    dquoted(p.oauth_callback_url)));
  add("admin_access", h.admin_access ? "true" : "false");
  return out;
}

}  // namespace nbhub::config
