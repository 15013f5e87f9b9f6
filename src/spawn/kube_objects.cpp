#include "spawn/kube_objects.hpp"

#include <fmt/format.h>

#include "spawn/docker_config.hpp"  // parse_byte_size: KubeSpawner's ByteSpecification

namespace nbhub::spawn::kube {

namespace json = boost::json;

namespace {

NameFields fields(KubeConfig const& cfg, std::string const& user, std::string const& server) {
  return NameFields{user, server, cfg.namespace_, "", ""};
}

// snake_case keys of KubeSpawner's Python models (extra_pod_config) as the API's camelCase.
std::string camel(std::string_view key) {
  std::string out;
  bool up = false;
  for (char c : key) {
    if (c == '_') { up = true; continue; }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

// KubeSpawner's update_k8s_model: each key replaces the field (no deep merge).
void update_model(json::object& target, json::object const& changes) {
  for (auto const& kv : changes) target[camel(kv.key())] = kv.value();
}

// Memory: ByteSpecification turns "1G" into bytes (powers of 1024); Kubernetes quantities
// ("10Gi", "500Mi") and numbers pass as they are.
json::value memory(json::value const& v) {
  if (v.is_string()) {
    if (auto b = parse_byte_size(std::string(v.as_string()))) return *b;
  }
  return v;
}

json::object labels_for(KubeConfig const& cfg, SpawnRequest const& req, json::object const& extra) {
  json::object labels{{"hub.jupyter.org/username", safe_label(req.user)}};
  for (auto const& kv : extra) labels[kv.key()] = kv.value();
  for (auto const& kv : cfg.common_labels) labels[kv.key()] = kv.value();
  return labels;
}

json::object annotations_for(KubeConfig const& cfg, SpawnRequest const& req, json::object const& extra) {
  json::object a{{kUserAnnotation, req.user}};
  if (!req.server_name.empty()) a[kServerAnnotation] = req.server_name;
  a["hub.jupyter.org/kubespawner-version"] = kKubeSpawnerCompat;
  if (!cfg.jupyterhub_version.empty()) a["hub.jupyter.org/jupyterhub-version"] = cfg.jupyterhub_version;
  for (auto const& kv : extra) a[kv.key()] = kv.value();
  return a;
}

std::string str(json::object const& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object const* obj(json::object const& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

json::array const* arr(json::object const& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

}  // namespace

json::value expand_all(json::value const& v, NameFields const& f, SlugScheme s) {
  if (v.is_string()) return json::value(expand_name(v.as_string(), f, s));
  if (v.is_array()) {
    json::array out;
    for (auto const& e : v.as_array()) out.push_back(expand_all(e, f, s));
    return out;
  }
  if (v.is_object()) {
    json::object out;
    for (auto const& kv : v.as_object()) out[kv.key()] = expand_all(kv.value(), f, s);
    return out;
  }
  return v;
}

Result<ServerNames> server_names(KubeConfig const& cfg, std::string const& user,
                                 std::string const& server) {
  auto f = fields(cfg, user, server);
  ServerNames n;
  n.namespace_ = cfg.namespace_;
  n.pod = expand_name(cfg.pod_name_template, f, cfg.slug_scheme);
  if (!is_valid_object_name(n.pod))
    return make_error(Errc::config,
                      fmt::format("KubeSpawner.pod_name_template \"{}\" gives \"{}\" for {}, which "
                                  "is not a valid pod name (lower-case letters, digits and '-', "
                                  "at most 63, starting with a letter)",
                                  cfg.pod_name_template, n.pod, user));
  if (cfg.storage_pvc_ensure) {
    f.pod_name = n.pod;
    n.pvc = expand_name(cfg.pvc_name_template, f, cfg.slug_scheme);
    if (n.pvc.empty() || n.pvc.size() > 253 || !is_valid_label(n.pvc))
      return make_error(Errc::config,
                        fmt::format("KubeSpawner.pvc_name_template \"{}\" gives \"{}\" for {}, "
                                    "which is not a valid claim name",
                                    cfg.pvc_name_template, n.pvc, user));
  }
  return n;
}

std::string legacy_pvc_name(KubeConfig const& cfg, std::string const& user,
                            std::string const& server) {
  // z2jh < 4 rendered claims as claim-{username}{servername} with escaped names (z2jh #2399).
  auto f = fields(cfg, user, server);
  auto tmpl = cfg.pvc_name_template == "claim-{user_server}" ? std::string("claim-{username}{servername}")
                                                              : cfg.pvc_name_template;
  return expand_name(tmpl, f, SlugScheme::escape);
}

json::object pod_manifest(KubeConfig const& cfg, SpawnRequest const& req, ServerNames const& names,
                          std::map<std::string, std::string> const& env,
                          json::object const& env_sources, std::vector<std::string> const& command) {
  auto f = fields(cfg, req.user, req.server_name);
  f.pod_name = names.pod;
  f.pvc_name = names.pvc;
  auto expand = [&](json::value const& v) { return expand_all(v, f, cfg.slug_scheme); };

  auto labels = labels_for(cfg, req, expand(cfg.extra_labels).as_object());
  labels["app.kubernetes.io/component"] = cfg.component_label;
  labels["component"] = cfg.component_label;
  labels["hub.jupyter.org/servername"] = safe_label(req.server_name);

  // Sorted by name (std::map), as KubeSpawner sends them; EnvVar bodies keep their valueFrom.
  json::array env_list;
  std::map<std::string, json::value> all;
  for (auto const& [k, v] : env) all[k] = json::value(v);
  for (auto const& kv : env_sources) all[std::string(kv.key())] = kv.value();
  for (auto const& [k, v] : all) {
    json::object e{{"name", k}};
    if (v.is_object())
      for (auto const& kv : v.as_object()) e[kv.key()] = kv.value();
    else
      e["value"] = v;
    env_list.push_back(std::move(e));
  }

  json::object requests, limits;
  if (!cfg.mem_guarantee.is_null()) requests["memory"] = memory(cfg.mem_guarantee);
  if (!cfg.cpu_guarantee.is_null()) requests["cpu"] = cfg.cpu_guarantee;
  if (!cfg.mem_limit.is_null()) limits["memory"] = memory(cfg.mem_limit);
  if (!cfg.cpu_limit.is_null()) limits["cpu"] = cfg.cpu_limit;
  for (auto const& kv : cfg.extra_resource_guarantees) requests[kv.key()] = kv.value();
  for (auto const& kv : cfg.extra_resource_limits) limits[kv.key()] = kv.value();

  json::object csc;
  if (cfg.uid) csc["runAsUser"] = *cfg.uid;
  if (cfg.gid) csc["runAsGroup"] = *cfg.gid;
  if (cfg.privileged) csc["privileged"] = *cfg.privileged;
  if (cfg.allow_privilege_escalation) csc["allowPrivilegeEscalation"] = *cfg.allow_privilege_escalation;
  for (auto const& kv : cfg.container_security_context) csc[kv.key()] = kv.value();
  json::object psc;
  if (cfg.fs_gid) psc["fsGroup"] = *cfg.fs_gid;
  if (!cfg.supplemental_gids.empty()) psc["supplementalGroups"] = cfg.supplemental_gids;
  for (auto const& kv : cfg.pod_security_context) psc[kv.key()] = kv.value();

  json::array args;
  for (auto const& c : command) args.emplace_back(c);
  json::object container{
      {"name", "notebook"},
      {"image", cfg.image},
      {"ports", json::array{json::object{{"name", "notebook-port"}, {"containerPort", cfg.port}}}},
      {"env", std::move(env_list)},
      {"resources", json::object{{"requests", std::move(requests)}, {"limits", std::move(limits)}}},
      {"volumeMounts", expand(cfg.volume_mounts)},
  };
  // Spawner.cmd + args go to `args`, so the image's ENTRYPOINT (tini) stays PID 1, as KubeSpawner.
  if (!args.empty()) container["args"] = std::move(args);
  if (!cfg.image_pull_policy.empty()) container["imagePullPolicy"] = cfg.image_pull_policy;
  if (!csc.empty()) container["securityContext"] = std::move(csc);
  if (!cfg.working_dir.empty()) container["workingDir"] = expand(json::value(cfg.working_dir));
  if (!cfg.lifecycle_hooks.empty()) container["lifecycle"] = cfg.lifecycle_hooks;
  update_model(container, cfg.extra_container_config);

  json::array containers{std::move(container)};
  // Kept in a variable: a range-for over expand(...).as_array() would walk an array whose
  // temporary owner is already gone (ASan: stack-use-after-scope).
  auto const extra = expand(cfg.extra_containers);
  for (auto const& c : extra.as_array()) containers.push_back(c);
  json::object spec{
      {"restartPolicy", "OnFailure"},
      {"containers", std::move(containers)},
      {"volumes", expand(cfg.volumes)},
  };
  if (!psc.empty()) spec["securityContext"] = std::move(psc);
  if (!cfg.service_account.empty()) {
    spec["serviceAccountName"] = expand(json::value(cfg.service_account));
    if (cfg.automount_service_account_token)
      spec["automountServiceAccountToken"] = *cfg.automount_service_account_token;
  } else {
    // Without a service account of its own the user's code gets no API credentials.
    spec["automountServiceAccountToken"] = cfg.automount_service_account_token.value_or(false);
  }
  if (!cfg.image_pull_secrets.empty()) spec["imagePullSecrets"] = cfg.image_pull_secrets;
  if (!cfg.node_selector.empty()) spec["nodeSelector"] = cfg.node_selector;
  if (!cfg.tolerations.empty()) spec["tolerations"] = cfg.tolerations;
  if (!cfg.scheduler_name.empty()) spec["schedulerName"] = cfg.scheduler_name;
  if (!cfg.priority_class_name.empty()) spec["priorityClassName"] = cfg.priority_class_name;
  if (!cfg.init_containers.empty()) spec["initContainers"] = expand(cfg.init_containers);
  json::object affinity;
  auto terms = [](json::array const& preferred, json::array const& required, bool node) {
    json::object a;
    if (!preferred.empty()) a["preferredDuringSchedulingIgnoredDuringExecution"] = preferred;
    if (!required.empty())
      a["requiredDuringSchedulingIgnoredDuringExecution"] =
          node ? json::value(json::object{{"nodeSelectorTerms", required}}) : json::value(required);
    return a;
  };
  if (auto a = terms(cfg.node_affinity_preferred, cfg.node_affinity_required, true); !a.empty())
    affinity["nodeAffinity"] = std::move(a);
  if (auto a = terms(cfg.pod_affinity_preferred, cfg.pod_affinity_required, false); !a.empty())
    affinity["podAffinity"] = std::move(a);
  if (auto a = terms(cfg.pod_anti_affinity_preferred, cfg.pod_anti_affinity_required, false); !a.empty())
    affinity["podAntiAffinity"] = std::move(a);
  if (!affinity.empty()) spec["affinity"] = std::move(affinity);
  update_model(spec, expand(cfg.extra_pod_config).as_object());

  return json::object{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       json::object{{"name", names.pod},
                    {"labels", std::move(labels)},
                    {"annotations", annotations_for(cfg, req, expand(cfg.extra_annotations).as_object())}}},
      {"spec", std::move(spec)},
  };
}

json::object pvc_manifest(KubeConfig const& cfg, SpawnRequest const& req, ServerNames const& names) {
  auto f = fields(cfg, req.user, req.server_name);
  f.pod_name = names.pod;
  f.pvc_name = names.pvc;
  auto labels = labels_for(cfg, req, expand_all(cfg.storage_extra_labels, f, cfg.slug_scheme).as_object());
  labels["app.kubernetes.io/component"] = cfg.component_label;
  labels["component"] = "singleuser-storage";
  auto annotations = annotations_for(cfg, req, {});
  json::object spec{
      {"accessModes", cfg.storage_access_modes},
      {"resources", json::object{{"requests", json::object{{"storage", cfg.storage_capacity}}}}},
  };
  if (!cfg.storage_class.empty()) {
    spec["storageClassName"] = cfg.storage_class;
    annotations["volume.beta.kubernetes.io/storage-class"] = cfg.storage_class;
  }
  if (!cfg.storage_selector.empty())
    spec["selector"] = expand_all(cfg.storage_selector, f, cfg.slug_scheme);
  return json::object{
      {"apiVersion", "v1"},
      {"kind", "PersistentVolumeClaim"},
      {"metadata", json::object{{"name", names.pvc}, {"labels", std::move(labels)},
                                {"annotations", std::move(annotations)}}},
      {"spec", std::move(spec)},
  };
}

PodView view_pod(json::object const& pod) {
  PodView v;
  v.exists = true;
  if (auto m = obj(pod, "metadata")) {
    v.uid = str(*m, "uid");
    v.terminating = m->contains("deletionTimestamp");
  }
  auto const* st = obj(pod, "status");
  if (!st) return v;
  v.phase = str(*st, "phase");
  v.ip = str(*st, "podIP");
  v.pod_reason = str(*st, "reason");
  v.pod_message = str(*st, "message");
  if (auto conds = arr(*st, "conditions"))
    for (auto const& c : *conds) {
      if (!c.is_object() || str(c.as_object(), "type") != "PodScheduled") continue;
      v.scheduled = str(c.as_object(), "status") == "True";
      if (!v.scheduled && str(c.as_object(), "reason") == "Unschedulable")
        v.unschedulable = str(c.as_object(), "message");
    }
  if (!v.ip.empty() && !v.scheduled) v.scheduled = true;
  bool all_ready = true;
  bool any = false;
  json::object const* notebook = nullptr;  // the server's container, or the first one
  if (auto cs = arr(*st, "containerStatuses"))
    for (auto const& c : *cs) {
      if (!c.is_object()) continue;
      auto const& co = c.as_object();
      auto ready = co.if_contains("ready");
      if (!ready || !ready->is_bool() || !ready->as_bool()) all_ready = false;
      if (!any || str(co, "name") == "notebook") notebook = &co;
      any = true;
    }
  if (notebook) {
    auto const* state = obj(*notebook, "state");
    if (auto w = state ? obj(*state, "waiting") : nullptr) {
      v.waiting_reason = str(*w, "reason");
      v.waiting_message = str(*w, "message");
    }
    auto const* term = state ? obj(*state, "terminated") : nullptr;
    if (!term)
      if (auto last = obj(*notebook, "lastState")) term = obj(*last, "terminated");
    if (term) {
      if (auto code = term->if_contains("exitCode"); code && code->is_int64())
        v.exit_code = static_cast<int>(code->as_int64());
      v.terminated_reason = str(*term, "reason");
    }
    v.running_container = state && obj(*state, "running");
  }
  v.ready = v.phase == "Running" && !v.ip.empty() && !v.terminating && any && all_ready;
  return v;
}

std::string pod_failure(PodView const& v) {
  if (!v.exists) return "the pod was deleted";
  if (v.pod_reason == "Evicted")
    return "the pod was evicted" + (v.pod_message.empty() ? "" : ": " + v.pod_message);
  if (v.terminated_reason == "OOMKilled" && !v.running_container)
    return "the server ran out of memory (OOMKilled); ask for a larger memory limit";
  if (v.phase == "Failed" || v.phase == "Succeeded") {
    std::string why = v.terminated_reason.empty() ? v.pod_reason : v.terminated_reason;
    return fmt::format("the pod {} (exit code {}{}){}", v.phase == "Failed" ? "failed" : "exited",
                       v.exit_code.value_or(-1), why.empty() ? "" : ", " + why,
                       v.pod_message.empty() ? "" : ": " + v.pod_message);
  }
  if (v.waiting_reason == "CrashLoopBackOff")
    return fmt::format("the server keeps exiting (exit code {}{}); it is restarted in a loop",
                       v.exit_code.value_or(-1), v.terminated_reason.empty() ? "" : ", " + v.terminated_reason);
  if (v.waiting_reason == "ImagePullBackOff" || v.waiting_reason == "ErrImageNeverPull" ||
      v.waiting_reason == "InvalidImageName")
    return "its image cannot be pulled: " + v.waiting_reason +
           (v.waiting_message.empty() ? "" : " (" + v.waiting_message + ")") +
           "; check the image name and tag, and the image pull secrets";
  if (v.waiting_reason == "CreateContainerConfigError" ||
      v.waiting_reason == "CreateContainerError" || v.waiting_reason == "StartError")
    return "the container cannot start: " + v.waiting_reason +
           (v.waiting_message.empty() ? "" : " (" + v.waiting_message + ")");
  return "";
}

}  // namespace nbhub::spawn::kube
