#include "config/reload_plan.hpp"

#include <algorithm>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace nbhub::config {

namespace {

// Hub-level options a reload applies. Each is read per request, per sign-in or per round by
// the part that uses it (app/config_reloader.cpp hands the new snapshot out). Everything else
// is read once at start-up; a new option is restart-only until its reader follows a snapshot.
constexpr std::string_view kLive[] = {
    "admin_access",
    "redirect_to_server",
    "default_url",
    "services",
    "load_roles",
    "extra_user_scopes",
    // Read per request by the REST API (web/api_common.hpp: cfg snapshot).
    "token_expires_in_max_seconds",
    "cors_allow_origins",
    "auth.allowed_users",
    "auth.admin_users",
    "auth.blocked_users",
    "auth.allowed_groups",
    "auth.admin_groups",
    "auth.allow_all",
    "auth.allow_existing_users",
    "auth.manage_groups",
    "auth.auto_login",
    "auth.username_map",
    "auth.custom_403_message",
    "cull.enabled",
    "cull.timeout_seconds",
    "cull.every_seconds",
    "cull.max_age_seconds",
    "cull.users",
    // spdlog's levels (app/logging.hpp).
    "log_level",
    "access_log",
    // Every spawner and the spawn queue take new settings for the spawns that follow
    // (app/hub_app.cpp: spawner_reload_part); running servers keep theirs. Settings inside
    // spawner.options that the Docker or Kubernetes spawner cannot change live are kept and
    // named by the spawner (DockerSpawner/KubeSpawner::set_config).
    "spawner.cmd",
    "spawner.args",
    "spawner.environment",
    "spawner.env_keep",
    "spawner.notebook_dir",
    "spawner.default_url",
    "spawner.start_timeout_seconds",
    "spawner.slow_spawn_timeout_seconds",
    "spawner.http_timeout_seconds",
    "spawner.poll_interval_seconds",
    "spawner.concurrent_spawn_limit",
    "spawner.active_server_limit",
    "spawner.local_start_limit",
    "spawner.options",
};

// Live with the local spawner only; the others have no homes.
constexpr std::string_view kLiveLocalSpawner[] = {"spawner.home_dir_template"};

// The TLS part reloads its certificate and key itself (its own SIGHUP handler).
constexpr std::string_view kIgnored[] = {"ssl_cert", "ssl_key"};

// Copies option `opt` of `from` into `to` (both hub-level).
void copy_option(Option const& opt, HubConfig& from, HubConfig& to) {
  ProviderConfig unused_a, unused_b;
  auto src = opt.field(from, unused_a);
  auto dst = opt.field(to, unused_b);
  std::visit([&](auto* f) { *std::get<std::remove_pointer_t<decltype(f)>*>(dst) = *f; }, src);
}

bool same_option(Option const& opt, HubConfig& a, HubConfig& b) {
  ProviderConfig unused;
  return opt.value_toml(a, unused) == opt.value_toml(b, unused);
}

std::vector<std::string> changed_provider_keys(ProviderConfig const& a, ProviderConfig const& b) {
  std::vector<std::string> out;
  HubConfig unused;
  auto pa = a, pb = b;
  for (auto const& o : options())
    if (o.scope == Scope::provider && o.value_toml(unused, pa) != o.value_toml(unused, pb))
      out.push_back(o.key);
  return out;
}

}  // namespace

Reloadable reloadable(Option const& opt, HubConfig const& running) {
  if (opt.scope == Scope::provider) return Reloadable::live;
  if (running.spawner == "local" &&
      std::find(std::begin(kLiveLocalSpawner), std::end(kLiveLocalSpawner), opt.key) != std::end(kLiveLocalSpawner))
    return Reloadable::live;
  if (std::find(std::begin(kIgnored), std::end(kIgnored), opt.key) != std::end(kIgnored))
    return Reloadable::ignored;
  if (std::find(std::begin(kLive), std::end(kLive), opt.key) != std::end(kLive))
    return Reloadable::live;
  return Reloadable::restart;
}

ReloadPlan plan_reload(HubConfig const& running, Provenance const& running_provenance,
                       HubConfig const& loaded, Provenance const& loaded_provenance) {
  ReloadPlan plan;
  plan.next = loaded;
  plan.next_provenance = loaded_provenance;
  auto old = running;  // Option::field wants mutable objects
  for (auto const& opt : options()) {
    if (opt.scope != Scope::hub) continue;
    bool same = same_option(opt, old, plan.next);
    auto kind = reloadable(opt, running);
    if (kind == Reloadable::live) {
      if (!same) plan.live.push_back(opt.key);
      continue;
    }
    if (!same && kind == Reloadable::restart) plan.restart.push_back(opt.key);
    // Restart-only (and ignored) options keep their running value and where it came from.
    copy_option(opt, old, plan.next);
    plan.next_provenance.hub.erase(opt.key);
    if (auto it = running_provenance.hub.find(opt.key); it != running_provenance.hub.end())
      plan.next_provenance.hub.insert_or_assign(opt.key, it->second);
  }

  auto const& before = running.auth.providers;
  auto const& after = plan.next.auth.providers;
  auto find = [](std::vector<ProviderConfig> const& v, std::string const& name) -> ProviderConfig const* {
    for (auto const& p : v)
      if (p.name == name) return &p;
    return nullptr;
  };
  for (auto const& p : after) {
    auto const* was = find(before, p.name);
    if (!was) {
      plan.providers.push_back({p.name, ProviderChange::Kind::added, {}});
    } else if (auto keys = changed_provider_keys(*was, p); !keys.empty()) {
      plan.providers.push_back({p.name, ProviderChange::Kind::changed, std::move(keys)});
    }
  }
  for (auto const& p : before)
    if (!find(after, p.name)) plan.providers.push_back({p.name, ProviderChange::Kind::removed, {}});
  // A reordering alone changes the login page's buttons: worth applying, and naming.
  if (plan.providers.empty() && before.size() == after.size()) {
    for (std::size_t i = 0; i < before.size(); ++i)
      if (before[i].name != after[i].name) {
        plan.live.push_back("auth.providers (order)");
        break;
      }
  }
  return plan;
}

std::string summary(ReloadPlan const& plan) {
  if (!plan.changed()) return "no change";
  std::vector<std::string> parts = plan.live;
  std::vector<std::string> prov;
  for (auto const& c : plan.providers) {
    switch (c.kind) {
      case ProviderChange::Kind::added: prov.push_back(c.name + " added"); break;
      case ProviderChange::Kind::removed: prov.push_back(c.name + " removed"); break;
      case ProviderChange::Kind::changed:
        prov.push_back(fmt::format("{} changed ({})", c.name, fmt::join(c.keys, ", ")));
        break;
    }
  }
  if (!prov.empty()) parts.push_back(fmt::format("auth.providers: {}", fmt::join(prov, "; ")));
  return fmt::format("changed {}", fmt::join(parts, ", "));
}

std::string restart_warning(ReloadPlan const& plan) {
  if (plan.restart.empty()) return "";
  return fmt::format("these options changed but are read at start-up only; their running values stay "
                     "until nbhub restarts: {}",
                     fmt::join(plan.restart, ", "));
}

namespace json = boost::json;

json::object outcome_json(ReloadOutcome const& o) {
  auto status = [&]() -> std::string_view {
    switch (o.status) {
      case ReloadOutcome::Status::applied: return "applied";
      case ReloadOutcome::Status::unchanged: return "unchanged";
      case ReloadOutcome::Status::refused: return "refused";
      case ReloadOutcome::Status::busy: return "busy";
    }
    return "refused";
  }();
  auto diags = [](std::vector<config::Diagnostic> const& v) {
    json::array a;
    for (auto const& d : v)
      a.push_back(json::object{{"file", d.file}, {"line", d.line}, {"option", d.option},
                               {"message", d.message}, {"text", d.to_string()}});
    return a;
  };
  json::array restart;
  for (auto const& k : o.restart) restart.emplace_back(k);
  return {{"result", status},         {"summary", o.summary},          {"restart_required", std::move(restart)},
          {"errors", diags(o.errors)}, {"warnings", diags(o.warnings)}, {"generation", o.generation}};
}

}  // namespace nbhub::config
