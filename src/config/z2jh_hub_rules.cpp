// The hub side of z2jh's jupyterhub_config.py (spec/kubernetes.md §1.9, §1.10): the database,
// the hub's and the proxy's URLs, the culler, services and roles, and the secrets the chart
// seeds. Rows of the table in z2jh_mapping.cpp.
#include <fmt/format.h>

#include "config/text.hpp"
#include "config/z2jh_mapping.hpp"

namespace nbhub::config::z2jh {

namespace {

using Kind = Value::Kind;

std::string env_or(Context const& ctx, std::string const& name, std::string fallback) {
  auto it = ctx.env.find(name);
  return it != ctx.env.end() && !it->second.empty() ? it->second : fallback;
}

// z2jh.py's get_name_env: the Service's port from the kubelet's service-link variables. The
// chart's Python dies with a KeyError without it; nbhub falls back to the Service's port.
std::string service_port(Context& ctx, std::string_view name, std::string fallback) {
  auto var = to_upper_snake(chart_name(ctx, name)) + "_SERVICE_PORT";
  auto it = ctx.env.find(var);
  if (it != ctx.env.end() && !it->second.empty()) return it->second;
  ctx.b.warn(Origin{"environment", 0, var, Layer::file},
             fmt::format("not set (the kubelet sets it for Services that existed when the pod "
                         "started); using {}",
                         fallback));
  return fallback;
}

}  // namespace

void rule_proxy_api(Context& ctx, Rule const& r) {
  auto url = fmt::format("http://{}:{}", chart_name(ctx, "proxy-api"),
                         service_port(ctx, "proxy-api", "8001"));
  option(ctx, r.target, Value::of(url), "proxy");
  // CHP is the public proxy; nbhub's own public listener stays inside the pod.
  option(ctx, "ip", Value::of("127.0.0.1"), "proxy");
  if (!ctx.env.count("CONFIGPROXY_AUTH_TOKEN"))
    ctx.b.warn(Origin{"environment", 0, "CONFIGPROXY_AUTH_TOKEN", Layer::file},
               "not set: the proxy's REST API is called without a token (the chart always sets "
               "it from Secret hub)");
}

void rule_db(Context& ctx, Rule const& r) {
  auto const* type = ctx.values.find("hub.db.type");
  auto t = present(type) ? text_of(*type) : std::string("sqlite-pvc");
  // nbhub keeps its own schema: never jupyterhub.sqlite, which a JupyterHub hub left behind.
  if (t == "sqlite-pvc")
    option(ctx, "db_url", Value::of("sqlite:///nbhub.sqlite"), "hub.db.type");
  else if (t == "sqlite-memory")
    option(ctx, "db_url", Value::of("sqlite://"), "hub.db.type");
  else if (t == "mysql")
    ctx.b.error(origin_at(ctx, "hub.db.type"),
                "mysql is not supported by nbhub; use sqlite-pvc or postgres");
  else if (auto const* url = ctx.values.find("hub.db.url"); present(url))
    assign(ctx, "JupyterHub.db_url", *url, "hub.db.url");
  else
    ctx.b.error(origin_at(ctx, "hub.db.url"),
                fmt::format("required when hub.db.type is {}", dquoted(t)));
  if (auto pw = read_secret_key(ctx.dir, "hub.db.password")) {
    if (t == "postgres") {
      ctx.outcome.secret_env["PGPASSWORD"] = *pw;
      ctx.outcome.secret_source["PGPASSWORD"] = "secret file hub.db.password";
    } else {
      ctx.b.warn(origin_at(ctx, "hub.db.password"),
                 fmt::format("ignored for hub.db.type={}", t));
    }
  }
}

void rule_hub_urls(Context& ctx, Rule const&) {
  assign(ctx, "JupyterHub.hub_bind_url", Value::of("http://:8081"), "hub");
  assign(ctx, "JupyterHub.hub_connect_url",
         Value::of(fmt::format("http://{}:{}", chart_name(ctx, "hub"),
                               service_port(ctx, "hub", "8081"))),
         "hub");
}

void rule_cull(Context& ctx, Rule const& r) {
  // The built-in culler instead of the chart's `python3 -m jupyterhub_idle_culler` service.
  auto const* enabled = ctx.values.find("cull.enabled");
  bool on = present(enabled) && python_str(*enabled) == "True";
  option(ctx, "cull.enabled", Value::of(on), "cull.enabled");
  if (!on) return;
  for (auto [key, opt] : {std::pair{"cull.timeout", "cull.timeout_seconds"},
                          std::pair{"cull.every", "cull.every_seconds"},
                          std::pair{"cull.maxAge", "cull.max_age_seconds"},
                          std::pair{"cull.users", "cull.users"}})
    if (auto const* v = ctx.values.find(key); present(v)) option(ctx, opt, *v, key);
  auto const* users = ctx.values.find("cull.users");
  auto const* admins = ctx.values.find("cull.adminUsers");
  if (present(users) && python_str(*users) == "True" && present(admins) &&
      python_str(*admins) == "True")
    ctx.b.warn(origin_at(ctx, "cull.adminUsers"),
               "nbhub's culler never deletes admin users (as --cull-admin-users=false)");
  if (auto const* v = ctx.values.find("cull.removeNamedServers"); present(v) && python_str(*v) == "True")
    ctx.b.warn(origin_at(ctx, "cull.removeNamedServers"),
               "not supported by nbhub's culler yet: idle named servers are stopped, not removed");
}

void rule_services(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!present(v) || v->kind != Kind::dict || v->entries.empty()) return;
  Value list = Value::list();
  for (auto const& [k, s] : v->entries) {
    if (s.kind != Kind::dict) {
      ctx.b.error(origin_at(ctx, std::string(r.key) + "." + k.string), "expected a dict");
      continue;
    }
    Value svc = Value::dict();
    for (auto const& e : s.entries)
      if (e.first.string != "apiToken" && e.first.string != "api_token") svc.entries.push_back(e);
    if (!member(svc, "name")) svc.entries.emplace_back(Value::of("name"), Value::of(k.string));
    auto token = read_secret_key(ctx.dir, "hub.services." + k.string + ".apiToken");
    if (token) svc.entries.emplace_back(Value::of("api_token"), Value::of(std::string(trim(*token))));
    list.items.push_back(std::move(svc));
  }
  assign(ctx, r.target, std::move(list), r.key);
  ctx.out.back().text.clear();  // holds tokens: never echoed
}

void rule_load_roles(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!present(v) || v->kind != Kind::dict || v->entries.empty()) return;
  Value list = Value::list();
  for (auto const& [k, role] : v->entries) {
    Value x = role.kind == Kind::dict ? role : Value::dict();
    if (!member(x, "name")) x.entries.emplace_back(Value::of("name"), Value::of(k.string));
    list.items.push_back(std::move(x));
  }
  assign(ctx, r.target, std::move(list), r.key);
}

void rule_secrets(Context& ctx, Rule const&) {
  for (auto [key, var] : {std::pair{"hub.config.JupyterHub.cookie_secret", "JUPYTERHUB_COOKIE_SECRET"},
                          std::pair{"hub.config.CryptKeeper.keys", "JUPYTERHUB_CRYPT_KEY"}}) {
    auto v = read_secret_key(ctx.dir, key);
    if (!v || trim(*v).empty()) continue;
    ctx.outcome.secret_env[var] = std::string(trim(*v));
    ctx.outcome.secret_source[var] = std::string("secret file ") + key;
  }
}

void rule_debug(Context& ctx, Rule const& r) {
  auto const* v = ctx.values.find(r.key);
  if (!present(v) || python_str(*v) != "True") return;
  assign(ctx, "JupyterHub.log_level", Value::of("debug"), r.key);
  assign(ctx, "Spawner.debug", Value::of(true), r.key);
}

void rule_namespace(Context& ctx, Rule const& r) {
  assign(ctx, r.target, Value::of(env_or(ctx, "POD_NAMESPACE", "default")), "");
}

}  // namespace nbhub::config::z2jh
