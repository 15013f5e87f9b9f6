#include "config/z2jh_mapping.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/text.hpp"

namespace nbhub::config::z2jh {

using Kind = Value::Kind;

bool present(Value const* v) { return v && v->kind != Kind::none; }
bool empty_container(Value const& v) {
  return (v.kind == Kind::list && v.items.empty()) || (v.kind == Kind::dict && v.entries.empty());
}

std::string text_of(Value const& v) { return v.kind == Kind::string ? v.string : python_str(v); }

Origin origin_at(Context const& ctx, std::string_view key) {
  auto p = ctx.values.place(key);
  return Origin{p.file, p.line, std::string(key), Layer::file, false};
}

// `c.<Section>.<trait> = value`, as the chart's Python writes it, placed at the values key.
void assign(Context& ctx, std::string_view target, Value v, std::string_view key,
            py::Assignment::Op op) {
  auto dot = target.find('.');
  auto p = ctx.values.place(key);
  py::Assignment a;
  a.line = p.line;
  a.file = p.file;
  a.section = std::string(target.substr(0, dot));
  a.trait = std::string(target.substr(dot + 1));
  a.op = op;
  a.value = std::move(v);
  a.text = std::string(key);
  ctx.out.push_back(std::move(a));
}

void option(Context& ctx, std::string_view name, Value v, std::string_view key) {
  ctx.b.set(name, v, origin_at(ctx, key));
}

namespace {

Value obj(std::initializer_list<std::pair<char const*, Value>> kv) {
  Value v = Value::dict();
  for (auto const& [k, x] : kv) v.entries.emplace_back(Value::of(k), x);
  return v;
}
Value strings(std::initializer_list<char const*> items) {
  Value v = Value::list();
  for (auto const* s : items) v.items.push_back(Value::of(s));
  return v;
}


// ---- rules --------------------------------------------------------------------------------

// set_config_if_not_none: an empty list or dict is each trait's default, so it is left out too.
void if_set(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!present(v) || empty_container(*v)) return;
  if (r.target.front() >= 'A' && r.target.front() <= 'Z')
    assign(ctx, r.target, *v, r.key);
  else
    option(ctx, r.target, *v, r.key);
}

void always(Context& ctx, Rule const& r) {
  if (ctx.chart_major < 2) return;  // chart 1.x leaves it to KubeSpawner's default (False)
  auto const* v = ctx.values.find(r.key);
  assign(ctx, r.target, v ? *v : Value::none(), r.key);
}

void spawner_class(Context& ctx, Rule const& r) {
  assign(ctx, r.target, Value::of("kubespawner.KubeSpawner"), "");
}

void common_labels(Context& ctx, Rule const& r) {
  auto get = [&](char const* k, std::string d) {
    auto const* v = ctx.values.find(k);
    return present(v) && !text_of(*v).empty() ? text_of(*v) : d;
  };
  auto name = get("nameOverride", get("Chart.Name", "jupyterhub"));
  auto release = get("Release.Name", "");
  auto chart_name = get("Chart.Name", ""), version = get("Chart.Version", "");
  std::replace(version.begin(), version.end(), '+', '_');
  Value l = Value::dict();
  auto put = [&](char const* k, std::string v) { l.entries.emplace_back(Value::of(k), Value::of(v)); };
  if (ctx.chart_major < 2) {  // spec §1.12: chart 1.x labels
    put("app", name);
    put("heritage", "jupyterhub");
    if (!chart_name.empty() && !version.empty()) put("chart", chart_name + "-" + version);
    if (!release.empty()) put("release", release);
  } else {
    put("app.kubernetes.io/name", name);
    put("app", name);
    if (!release.empty()) {
      put("app.kubernetes.io/instance", release);
      put("release", release);
    }
    if (!chart_name.empty() && !version.empty()) {
      put("helm.sh/chart", chart_name + "-" + version);
      put("chart", chart_name + "-" + version);
    }
    put("app.kubernetes.io/managed-by", "kubespawner");
  }
  assign(ctx, r.target, std::move(l), "Chart");
  // KubeSpawner before 7 named pods and claims with the escape scheme (spec §1.12).
  if (ctx.chart_major < 4) assign(ctx, "KubeSpawner.slug_scheme", Value::of("escape"), "Chart");
}

// singleuser.extraEnv: a map of strings (KubeSpawner also takes EnvVar bodies, which nbhub's
// spawner.environment cannot hold yet) or a list of {name, value}.
void environment(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!present(v) || empty_container(*v)) return;
  Value env = Value::dict();
  auto add = [&](std::string const& name, Value const& x, std::string const& key) {
    if (x.kind == Kind::dict) {
      ctx.b.error(origin_at(ctx, key), "EnvVar bodies (valueFrom) are not supported by nbhub yet; "
                                       "give a string value");
      return;
    }
    env.entries.emplace_back(Value::of(name), Value::of(text_of(x)));
  };
  if (v->kind == Kind::dict) {
    for (auto const& [k, x] : v->entries) add(k.string, x, std::string(r.key) + "." + k.string);
  } else if (v->kind == Kind::list) {
    for (std::size_t i = 0; i < v->items.size(); ++i) {
      auto const* n = member(v->items[i], "name");
      auto const* x = member(v->items[i], "value");
      auto key = fmt::format("{}[{}]", r.key, i);
      if (!n || n->kind != Kind::string) {
        ctx.b.error(origin_at(ctx, key), "expected {name: ..., value: ...}");
        continue;
      }
      add(n->string, x ? *x : member(v->items[i], "valueFrom") ? Value::dict() : Value::of(""),
          key);
    }
  }
  if (!env.entries.empty()) assign(ctx, r.target, std::move(env), r.key);
}

void image(Context& ctx, Rule const& r) {
  auto const* name = ctx.values.find("singleuser.image.name");
  if (!present(name) || text_of(*name).empty()) return;
  auto img = text_of(*name);
  if (auto const* tag = ctx.values.find("singleuser.image.tag"); present(tag) && !text_of(*tag).empty())
    img += ":" + text_of(*tag);
  assign(ctx, r.target, Value::of(img), "singleuser.image.name");
}

void pull_secrets(Context& ctx, Rule const& r) {
  Value all = Value::list();
  auto yes = [&](char const* k) {
    auto const* v = ctx.values.find(k);
    return present(v) && v->kind == Kind::boolean && v->boolean;
  };
  if (yes("imagePullSecret.automaticReferenceInjection") && yes("imagePullSecret.create"))
    all.items.push_back(Value::of(chart_name(ctx, "image-pull-secret")));
  for (auto k : {"imagePullSecrets", "singleuser.image.pullSecrets"})
    if (auto const* v = ctx.values.find(k); present(v) && v->kind == Kind::list)
      all.items.insert(all.items.end(), v->items.begin(), v->items.end());
  if (!all.items.empty()) assign(ctx, r.target, std::move(all), "singleuser.image.pullSecrets");
}

void scheduler(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (present(v) && python_str(*v) == "True")
    assign(ctx, r.target,
           Value::of(chart_name(ctx, r.target == "KubeSpawner.scheduler_name" ? "user-scheduler"
                                                                              : "priority")),
           r.key);
}

void node_purpose(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!present(v)) return;
  auto how = text_of(*v);
  auto sel = obj({{"matchExpressions",
                   Value::list({obj({{"key", Value::of("hub.jupyter.org/node-purpose")},
                                     {"operator", Value::of("In")},
                                     {"values", strings({"user"})}})})}});
  using Op = py::Assignment::Op;
  if (how == "prefer")
    assign(ctx, "KubeSpawner.node_affinity_preferred",
           obj({{"weight", Value::of(std::int64_t{100})}, {"preference", sel}}), r.key, Op::append);
  else if (how == "require")
    assign(ctx, "KubeSpawner.node_affinity_required", sel, r.key, Op::append);
  else if (how != "ignore")
    ctx.b.error(origin_at(ctx, r.key),
                fmt::format("expected prefer, require or ignore, got {}", dquoted(how)));
}

void tolerations(Context& ctx, Rule const& r) {
  Value all = Value::list();
  for (auto k : {"scheduling.userPods.tolerations", "singleuser.extraTolerations"})
    if (auto const* v = ctx.values.find(k); present(v) && v->kind == Kind::list)
      all.items.insert(all.items.end(), v->items.begin(), v->items.end());
  if (!all.items.empty()) assign(ctx, r.target, std::move(all), "scheduling.userPods.tolerations");
}

void cmd(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!v) return;
  // null: the image's own command (KubeSpawner sends no args); nbhub reads an empty cmd so.
  if (v->kind == Kind::none) {
    if (ctx.chart_major >= 2) assign(ctx, r.target, Value::list(), r.key);
    return;
  }
  assign(ctx, r.target, *v, r.key);
}

void cloud_metadata(Context& ctx, Rule const& r) {
  auto const* block = ctx.values.find("singleuser.cloudMetadata.blockWithIptables");
  if (!present(block) || python_str(*block) != "True") return;
  auto const* ipv = ctx.values.find("singleuser.cloudMetadata.ip");
  auto ip = present(ipv) ? text_of(*ipv) : std::string("169.254.169.254");
  auto get = [&](char const* k) {
    auto const* v = ctx.values.find(k);
    return present(v) ? text_of(*v) : std::string();
  };
  Value command = ctx.chart_major < 2
                      ? strings({"iptables", "-A", "OUTPUT", "-d", ip.c_str(), "-j", "DROP"})
                      : strings({"iptables", "--append", "OUTPUT", "--protocol", "tcp",
                                 "--destination", ip.c_str(), "--destination-port", "80",
                                 "--jump", "DROP"});
  Value c = obj({{"name", Value::of("block-cloud-metadata")},
                 {"image", Value::of(get("singleuser.networkTools.image.name") + ":" +
                                     get("singleuser.networkTools.image.tag"))},
                 {"command", command},
                 {"securityContext",
                  obj({{"privileged", Value::of(true)},
                       {"runAsUser", Value::of(std::int64_t{0})},
                       {"capabilities", obj({{"add", strings({"NET_ADMIN"})}})}})}});
  if (auto const* res = ctx.values.find("singleuser.networkTools.resources");
      present(res) && !empty_container(*res))
    c.entries.emplace_back(Value::of("resources"), *res);
  assign(ctx, r.target, std::move(c), "singleuser.cloudMetadata", py::Assignment::Op::append);
}

void storage(Context& ctx, Rule const&) { apply_storage(ctx); }  // z2jh_storage.cpp

}  // namespace

std::span<const Rule> rules() {
  static const std::vector<Rule> t = {
      {"", "JupyterHub.spawner_class", spawner_class, "always kubespawner.KubeSpawner"},
      {"proxy", "proxy.chp_api_url", rule_proxy_api,
       "http://{proxy-api}:{PROXY_API_SERVICE_PORT}; nbhub mirrors its routes there"},
      {"hub.db.type", "db_url", rule_db, "sqlite-pvc: sqlite:///nbhub.sqlite in the working directory"},
      {"hub.concurrentSpawnLimit", "JupyterHub.concurrent_spawn_limit", if_set, ""},
      {"hub.activeServerLimit", "JupyterHub.active_server_limit", if_set, ""},
      {"hub.baseUrl", "JupyterHub.base_url", if_set, ""},
      {"hub.allowNamedServers", "JupyterHub.allow_named_servers", if_set, ""},
      {"hub.namedServerLimitPerUser", "JupyterHub.named_server_limit_per_user", if_set, ""},
      {"hub.authenticatePrometheus", "JupyterHub.authenticate_prometheus", if_set, ""},
      {"hub.redirectToServer", "JupyterHub.redirect_to_server", if_set, ""},
      {"hub.shutdownOnLogout", "JupyterHub.shutdown_on_logout", if_set, ""},
      {"hub.templatePaths", "JupyterHub.template_paths", if_set, ""},
      {"hub.templateVars", "JupyterHub.template_vars", if_set, ""},
      {"hub", "JupyterHub.hub_bind_url", rule_hub_urls,
       "http://:8081; hub_connect_url http://{hub}:{HUB_SERVICE_PORT}"},
      {"Chart", "KubeSpawner.common_labels", common_labels, "spec §1.10 item 10; 1.x: §1.12"},
      {"", "KubeSpawner.namespace", rule_namespace, "$POD_NAMESPACE, else default"},
      {"hub.consecutiveFailureLimit", "Spawner.consecutive_failure_limit", if_set, ""},
      {"singleuser.podNameTemplate", "KubeSpawner.pod_name_template", if_set, ""},
      {"singleuser.startTimeout", "KubeSpawner.start_timeout", if_set, ""},
      {"singleuser.image.pullPolicy", "KubeSpawner.image_pull_policy", if_set, ""},
      {"singleuser.events", "KubeSpawner.events_enabled", if_set, ""},
      {"singleuser.extraLabels", "KubeSpawner.extra_labels", if_set, ""},
      {"singleuser.extraAnnotations", "KubeSpawner.extra_annotations", if_set, ""},
      {"singleuser.uid", "KubeSpawner.uid", if_set, ""},
      {"singleuser.fsGid", "KubeSpawner.fs_gid", if_set, ""},
      {"singleuser.serviceAccountName", "KubeSpawner.service_account", if_set, ""},
      {"singleuser.storage.extraLabels", "KubeSpawner.storage_extra_labels", if_set, ""},
      {"singleuser.nodeSelector", "KubeSpawner.node_selector", if_set, ""},
      {"singleuser.extraNodeAffinity.required", "KubeSpawner.node_affinity_required", if_set, ""},
      {"singleuser.extraNodeAffinity.preferred", "KubeSpawner.node_affinity_preferred", if_set, ""},
      {"singleuser.extraPodAffinity.required", "KubeSpawner.pod_affinity_required", if_set, ""},
      {"singleuser.extraPodAffinity.preferred", "KubeSpawner.pod_affinity_preferred", if_set, ""},
      {"singleuser.extraPodAntiAffinity.required", "KubeSpawner.pod_anti_affinity_required", if_set, ""},
      {"singleuser.extraPodAntiAffinity.preferred", "KubeSpawner.pod_anti_affinity_preferred", if_set, ""},
      {"singleuser.lifecycleHooks", "KubeSpawner.lifecycle_hooks", if_set, ""},
      {"singleuser.initContainers", "KubeSpawner.init_containers", if_set, ""},
      {"singleuser.extraContainers", "KubeSpawner.extra_containers", if_set, ""},
      {"singleuser.memory.limit", "KubeSpawner.mem_limit", if_set, ""},
      {"singleuser.memory.guarantee", "KubeSpawner.mem_guarantee", if_set, ""},
      {"singleuser.cpu.limit", "KubeSpawner.cpu_limit", if_set, ""},
      {"singleuser.cpu.guarantee", "KubeSpawner.cpu_guarantee", if_set, ""},
      {"singleuser.extraResource.limits", "KubeSpawner.extra_resource_limits", if_set, ""},
      {"singleuser.extraResource.guarantees", "KubeSpawner.extra_resource_guarantees", if_set, ""},
      {"singleuser.extraEnv", "KubeSpawner.environment", environment,
       "string values only (spawner.environment)"},
      {"singleuser.profileList", "Spawner.profile_list", if_set, "read by every spawner (docs/profiles.md)"},
      {"singleuser.extraPodConfig", "KubeSpawner.extra_pod_config", if_set, ""},
      {"singleuser.image.name", "KubeSpawner.image", image, "name:tag"},
      {"singleuser.allowPrivilegeEscalation", "KubeSpawner.allow_privilege_escalation", always,
       "assigned even when null (chart 2+)"},
      {"singleuser.image.pullSecrets", "KubeSpawner.image_pull_secrets", pull_secrets,
       "+ imagePullSecrets + image-pull-secret when imagePullSecret.create"},
      {"scheduling.userScheduler.enabled", "KubeSpawner.scheduler_name", scheduler,
       "{user-scheduler} (<release>-user-scheduler)"},
      {"scheduling.podPriority.enabled", "KubeSpawner.priority_class_name", scheduler,
       "{priority} (<release>-default-priority)"},
      {"scheduling.userPods.nodeAffinity.matchNodePurpose", "KubeSpawner.node_affinity_preferred",
       node_purpose, "prefer: weight 100 on hub.jupyter.org/node-purpose In [user]"},
      {"scheduling.userPods.tolerations", "KubeSpawner.tolerations", tolerations,
       "+ singleuser.extraTolerations"},
      {"singleuser.storage.type", "KubeSpawner.volumes", storage,
       "dynamic / static / none, extraFiles, extraVolumes, extraVolumeMounts (lists sorted by key)"},
      {"hub.services", "JupyterHub.services", rule_services,
       "api_token from secret hub.services.<k>.apiToken; no culler service"},
      {"hub.loadRoles", "JupyterHub.load_roles", rule_load_roles, ""},
      {"singleuser.cmd", "Spawner.cmd", cmd, "null: empty (the image's command)"},
      {"singleuser.defaultUrl", "Spawner.default_url", if_set, ""},
      {"singleuser.cloudMetadata.blockWithIptables", "KubeSpawner.init_containers", cloud_metadata,
       "appends block-cloud-metadata"},
      {"cull.enabled", "cull.enabled", rule_cull, "the built-in culler (timeout, every, maxAge, users)"},
      {"debug.enabled", "JupyterHub.log_level", rule_debug, "debug, and Spawner.debug"},
      {"hub.config.JupyterHub.cookie_secret", "JUPYTERHUB_COOKIE_SECRET", rule_secrets,
       "secret files (existing-secret first); also CryptKeeper.keys -> JUPYTERHUB_CRYPT_KEY"},
  };
  return t;
}

void apply_rules(Context& ctx) {
  for (auto const& r : rules()) r.apply(ctx, r);
}

std::string chart_name(Context const& ctx, std::string_view name) {
  std::ifstream f(ctx.dir / "config" / std::string(name), std::ios::binary);
  if (f) {
    std::stringstream ss;
    ss << f.rdbuf();
    auto s = std::string(trim(ss.str()));
    if (!s.empty()) return s;
  }
  auto const* rel = ctx.values.find("Release.Name");
  auto release = present(rel) ? text_of(*rel) : std::string("jhub");
  if (name == "user-scheduler") return release + "-user-scheduler";
  if (name == "priority") return release + "-default-priority";
  return std::string(name);
}

}  // namespace nbhub::config::z2jh
