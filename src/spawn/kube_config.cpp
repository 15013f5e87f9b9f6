#include "spawn/kube_config.hpp"

#include "config/spawner_traits.hpp"
#include "config/text.hpp"
#include "spawn/kube_kubeconfig.hpp"
#include "spawn/profiles.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace nbhub::spawn::kube {

namespace json = boost::json;

namespace {

Error bad(std::string const& trait, std::string const& what) {
  return make_error(Errc::config, "KubeSpawner." + trait + ": " + what);
}


class Reader {
 public:
  Reader(std::map<std::string, std::string> const& traits) : traits_(traits) {}

  // KubeSpawner.<name>, else Spawner.<name> (base class first in traitlets, so the subclass wins).
  std::optional<json::value> get(std::string const& name) const {
    for (auto const* cls : {"KubeSpawner.", "Spawner."}) {
      auto it = traits_.find(cls + name);
      if (it != traits_.end()) return config::trait_value(it->second);
    }
    return std::nullopt;
  }
  std::optional<std::string> raw(std::string const& name) const {
    for (auto const* cls : {"KubeSpawner.", "Spawner."}) {
      auto it = traits_.find(cls + name);
      if (it != traits_.end()) return it->second;
    }
    return std::nullopt;
  }

  Result<void> text(std::string const& name, std::string& out) const {
    auto r = raw(name);
    if (!r) return {};
    auto v = config::trait_value(*r);
    if (v.is_null()) out.clear();  // None
    else if (v.is_string()) out = std::string(v.as_string());
    else if (v.is_object() || v.is_array()) return bad(name, "expected a string");
    else out = *r;  // a number written without quotes, e.g. an image tag
    return {};
  }
  Result<void> object(std::string const& name, json::object& out) const {
    auto v = get(name);
    if (!v) return {};
    if (v->is_null()) { out.clear(); return {}; }
    if (!v->is_object()) return bad(name, "expected a dict");
    out = v->as_object();
    return {};
  }
  // A list, or a dict whose values are taken in key order (KubeSpawner's _sorted_dict_values).
  Result<void> list(std::string const& name, json::array& out) const {
    auto v = get(name);
    if (!v) return {};
    if (v->is_null()) { out.clear(); return {}; }
    if (v->is_array()) { out = v->as_array(); return {}; }
    if (v->is_object()) {
      std::map<std::string, json::value> sorted;
      for (auto const& kv : v->as_object()) sorted.emplace(std::string(kv.key()), kv.value());
      out.clear();
      for (auto& [k, x] : sorted) out.push_back(x);
      return {};
    }
    return bad(name, "expected a list (or a dict of entries, taken in key order)");
  }
  Result<void> integer(std::string const& name, std::optional<std::int64_t>& out) const {
    auto v = get(name);
    if (!v) return {};
    if (v->is_null()) { out.reset(); return {}; }
    if (v->is_int64()) { out = v->as_int64(); return {}; }
    if (v->is_string()) {
      try { out = std::stoll(std::string(v->as_string())); return {}; } catch (...) {}
    }
    return bad(name, "expected an integer");
  }
  Result<void> boolean(std::string const& name, bool& out) const {
    std::optional<bool> o = out;
    if (auto r = opt_boolean(name, o); !r) return r;
    if (o) out = *o;
    return {};
  }
  Result<void> opt_boolean(std::string const& name, std::optional<bool>& out) const {
    auto r = raw(name);
    if (!r) return {};
    if (*r == "true" || *r == "True") out = true;
    else if (*r == "false" || *r == "False") out = false;
    else if (*r == "null" || *r == "None") out.reset();
    else return bad(name, "expected true or false");
    return {};
  }
  Result<void> seconds(std::string const& name, std::chrono::seconds& out) const {
    auto v = get(name);
    if (!v) return {};
    if (v->is_int64() && v->as_int64() >= 0) { out = std::chrono::seconds(v->as_int64()); return {}; }
    if (v->is_double() && v->as_double() >= 0) {
      out = std::chrono::seconds(static_cast<std::int64_t>(v->as_double()));
      return {};
    }
    return bad(name, "expected a number of seconds");
  }
  // mem_* and cpu_*: a number, or a string the API server reads as a quantity ("1G", "500m").
  Result<void> quantity(std::string const& name, json::value& out) const {
    auto v = get(name);
    if (!v) return {};
    if (v->is_null() || v->is_number() || v->is_string()) { out = *v; return {}; }
    return bad(name, "expected a number or a quantity such as \"1G\" or \"500m\"");
  }

 private:
  std::map<std::string, std::string> const& traits_;
};

Result<void> apply_api_access(KubeConfig& c, Reader const& r, EnvLookup const& env) {
  std::string sa_dir = env("NBHUB_K8S_SERVICE_ACCOUNT_DIR").value_or(
      "/var/run/secrets/kubernetes.io/serviceaccount");
  std::string host;
  if (auto rr = r.text("k8s_api_host", host); !rr) return rr;
  auto in_cluster = env("KUBERNETES_SERVICE_HOST").value_or("") != "";
  if (host.empty() && !in_cluster) {
    // Outside a pod: kubectl's kubeconfig (KUBECONFIG, else ~/.kube/config), as KubeSpawner's
    // client falls back to.
    auto path = env("KUBECONFIG").value_or("");
    if (auto colon = path.find(':'); colon != std::string::npos) path = path.substr(0, colon);
    if (path.empty())
      if (auto home = env("HOME"); home && !home->empty() && std::ifstream(*home + "/.kube/config"))
        path = *home + "/.kube/config";
    if (!path.empty()) {
      auto k = read_kubeconfig(path, env("NBHUB_K8S_CONTEXT").value_or(""),
                               c.data_dir + "/kube");
      if (!k) return k.error();
      c.api = k->api;
      if (!k->namespace_.empty()) c.namespace_ = k->namespace_;
      if (auto rr = r.text("k8s_api_ssl_ca_cert", c.api.ca_file); !rr) return rr;
      if (auto rr = r.boolean("k8s_api_verify_ssl", c.api.verify_tls); !rr) return rr;
      return {};
    }
  }
  if (!host.empty()) {
    c.api.url = host;
  } else {
    auto h = env("KUBERNETES_SERVICE_HOST");
    auto p = env("KUBERNETES_SERVICE_PORT");
    if (!h || h->empty() || !p || p->empty())
      return make_error(Errc::config,
                        "spawner.kind = \"kubernetes\": nbhub cannot reach the Kubernetes API: it is "
                        "not running in a pod (KUBERNETES_SERVICE_HOST is not set) and there is no "
                        "kubeconfig (KUBECONFIG or ~/.kube/config); set one of them, or "
                        "KubeSpawner.k8s_api_host with a token in NBHUB_K8S_SERVICE_ACCOUNT_DIR");
    c.api.url = "https://" + (h->find(':') != std::string::npos ? "[" + *h + "]" : *h) + ":" + *p;
  }
  while (!c.api.url.empty() && c.api.url.back() == '/') c.api.url.pop_back();
  if (!c.api.url.starts_with("https://") && !c.api.url.starts_with("http://"))
    return bad("k8s_api_host", "expected a URL such as https://10.96.0.1:443");
  auto token = sa_dir + "/token";
  if (std::ifstream(token)) c.api.token_file = token;
  auto ca = sa_dir + "/ca.crt";
  if (std::ifstream(ca)) c.api.ca_file = ca;
  if (auto rr = r.text("k8s_api_ssl_ca_cert", c.api.ca_file); !rr) return rr;
  if (auto rr = r.boolean("k8s_api_verify_ssl", c.api.verify_tls); !rr) return rr;
  if (auto ns = read_trimmed_file(sa_dir + "/namespace"); ns && !ns->empty()) c.namespace_ = *ns;
  return {};
}

}  // namespace

namespace {

// Every KubeSpawner trait of kube_config.hpp from `r` onto `c`; the first error wins.
Result<void> apply_traits(KubeConfig& c, Reader const& r) {
  std::vector<Result<void>> results;
  auto run = [&](Result<void> rr) { results.push_back(std::move(rr)); };
  run(r.text("namespace", c.namespace_));
  run(r.text("image", c.image));
  run(r.text("image_pull_policy", c.image_pull_policy));
  if (auto v = r.get("image_pull_secrets")) {
    // KubeSpawner accepts ["name"] or [{"name": "name"}]; a single string too.
    c.image_pull_secrets.clear();
    json::array items;
    if (v->is_string()) items.push_back(*v);
    else if (v->is_array()) items = v->as_array();
    else if (!v->is_null()) run(bad("image_pull_secrets", "expected a list of secret names"));
    for (auto const& s : items) {
      if (s.is_string()) c.image_pull_secrets.push_back(json::object{{"name", s}});
      else if (s.is_object()) c.image_pull_secrets.push_back(s);
      else run(bad("image_pull_secrets", "expected a list of secret names"));
    }
  }
  run(r.text("pod_name_template", c.pod_name_template));
  run(r.text("pvc_name_template", c.pvc_name_template));
  if (auto s = r.raw("slug_scheme")) {
    if (*s == "safe") c.slug_scheme = SlugScheme::safe;
    else if (*s == "escape") c.slug_scheme = SlugScheme::escape;
    else run(bad("slug_scheme", "expected \"safe\" or \"escape\""));
  }
  run(r.text("component_label", c.component_label));
  run(r.object("common_labels", c.common_labels));
  run(r.object("extra_labels", c.extra_labels));
  run(r.object("extra_annotations", c.extra_annotations));
  std::optional<std::int64_t> port;
  run(r.integer("port", port));
  if (port) {
    if (*port <= 0 || *port > 65535) run(bad("port", "expected a port number"));
    else c.port = static_cast<int>(*port);
  }
  run(r.integer("uid", c.uid));
  run(r.integer("gid", c.gid));
  run(r.integer("fs_gid", c.fs_gid));
  run(r.list("supplemental_gids", c.supplemental_gids));
  run(r.opt_boolean("privileged", c.privileged));
  run(r.opt_boolean("allow_privilege_escalation", c.allow_privilege_escalation));
  run(r.object("container_security_context", c.container_security_context));
  run(r.object("pod_security_context", c.pod_security_context));
  run(r.text("service_account", c.service_account));
  run(r.opt_boolean("automount_service_account_token", c.automount_service_account_token));
  run(r.text("working_dir", c.working_dir));
  run(r.object("node_selector", c.node_selector));
  run(r.list("tolerations", c.tolerations));
  run(r.text("scheduler_name", c.scheduler_name));
  run(r.text("priority_class_name", c.priority_class_name));
  run(r.list("volumes", c.volumes));
  run(r.list("volume_mounts", c.volume_mounts));
  run(r.list("init_containers", c.init_containers));
  run(r.list("extra_containers", c.extra_containers));
  run(r.list("node_affinity_preferred", c.node_affinity_preferred));
  run(r.list("node_affinity_required", c.node_affinity_required));
  run(r.list("pod_affinity_preferred", c.pod_affinity_preferred));
  run(r.list("pod_affinity_required", c.pod_affinity_required));
  run(r.list("pod_anti_affinity_preferred", c.pod_anti_affinity_preferred));
  run(r.list("pod_anti_affinity_required", c.pod_anti_affinity_required));
  run(r.object("lifecycle_hooks", c.lifecycle_hooks));
  run(r.object("extra_pod_config", c.extra_pod_config));
  run(r.object("extra_container_config", c.extra_container_config));
  run(r.quantity("mem_limit", c.mem_limit));
  run(r.quantity("mem_guarantee", c.mem_guarantee));
  run(r.quantity("cpu_limit", c.cpu_limit));
  run(r.quantity("cpu_guarantee", c.cpu_guarantee));
  run(r.object("extra_resource_limits", c.extra_resource_limits));
  run(r.object("extra_resource_guarantees", c.extra_resource_guarantees));
  if (auto v = r.get("environment")) {
    if (!v->is_object()) run(bad("environment", "expected a dict of names to strings or EnvVar dicts"));
    else
      for (auto const& kv : v->as_object()) {
        if (!kv.value().is_string() && !kv.value().is_object())
          run(bad("environment", "the value of " + std::string(kv.key()) +
                                     " must be a string or an EnvVar dict such as {\"valueFrom\": ...}"));
        c.environment[kv.key()] = kv.value();
      }
  }
  run(r.boolean("storage_pvc_ensure", c.storage_pvc_ensure));
  run(r.text("storage_capacity", c.storage_capacity));
  run(r.list("storage_access_modes", c.storage_access_modes));
  run(r.text("storage_class", c.storage_class));
  run(r.object("storage_extra_labels", c.storage_extra_labels));
  run(r.object("storage_selector", c.storage_selector));
  run(r.boolean("delete_pvc", c.delete_pvc));
  run(r.boolean("events_enabled", c.events_enabled));
  run(r.seconds("delete_grace_period", c.delete_grace_period));
  run(r.list("profile_list", c.profile_list));
  if (auto o = r.raw("orphan_pods")) {
    if (*o == "adopt") { c.adopt_orphans = true; c.delete_orphans = false; }
    else if (*o == "delete") { c.adopt_orphans = true; c.delete_orphans = true; }
    else if (*o == "ignore") { c.adopt_orphans = false; c.delete_orphans = false; }
    else run(bad("orphan_pods", "expected \"adopt\", \"delete\" or \"ignore\""));
  }
  run(r.seconds("start_timeout", c.start_timeout));
  run(r.seconds("schedule_timeout", c.schedule_timeout));
  run(r.seconds("image_pull_timeout", c.image_pull_timeout));
  run(r.seconds("k8s_api_request_timeout", c.request_timeout));
  run(r.seconds("watch_timeout", c.watch_timeout));
  run(r.seconds("watch_stall_timeout", c.watch_stall_timeout));
  for (auto& rr : results)
    if (!rr) return rr.error();
  if (c.storage_pvc_ensure && c.storage_capacity.empty())
    return bad("storage_capacity", "must be set when storage_pvc_ensure is on (e.g. \"10Gi\")");
  if (c.schedule_timeout.count() == 0) c.schedule_timeout = c.start_timeout;
  if (c.watch_timeout.count() < 10) return bad("watch_timeout", "expected at least 10 seconds");
  if (c.watch_stall_timeout.count() < 2) return bad("watch_stall_timeout", "expected at least 2 seconds");
  if (c.namespace_.empty()) return bad("namespace", "must not be empty");
  if (!c.profile_list.empty())
    if (auto p = parse_profiles(json::value(c.profile_list), kube_profile_schema()); !p) return p.error();
  return {};
}

std::map<std::string, std::string> as_traits(json::object const& overrides) {
  std::map<std::string, std::string> out;
  for (auto const& kv : overrides)
    out["KubeSpawner." + std::string(kv.key())] =
        kv.value().is_string() ? std::string(kv.value().as_string()) : json::serialize(kv.value());
  return out;
}

}  // namespace

std::optional<std::string> read_trimmed_file(std::string const& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(config::trim(ss.str()));
}

Result<KubeConfig> kube_config_from_traits(KubeConfig c,
                                           std::map<std::string, std::string> const& traits,
                                           EnvLookup const& env) {
  Reader r(traits);
  if (auto rr = apply_api_access(c, r, env); !rr) return rr.error();
  // z2jh sets it from POD_NAMESPACE; an explicit trait wins over the service account's file.
  if (auto ns = env("POD_NAMESPACE"); ns && !ns->empty()) c.namespace_ = *ns;
  if (auto rr = apply_traits(c, r); !rr) return rr.error();
  return c;
}

ProfileSchema kube_profile_schema() {
  ProfileSchema s;
  s.where = "KubeSpawner.profile_list";
  s.check_trait = [](std::string_view trait) -> std::string {
    if (trait == "namespace") return "a profile cannot move servers to another namespace here";
    return "";
  };
  return s;
}

Result<KubeConfig> apply_kube_overrides(KubeConfig base, json::object const& overrides) {
  auto traits = as_traits(overrides);
  Reader r(traits);
  if (auto rr = apply_traits(base, r); !rr) {
    auto e = rr.error();
    e.message = "the overrides of this spawn (profile or hook): " + e.message;
    return e;
  }
  return base;
}


}  // namespace nbhub::spawn::kube
