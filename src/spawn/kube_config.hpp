#pragma once
// The Kubernetes spawner's settings, named after KubeSpawner's traits so that
// `c.KubeSpawner.image = ...` in jupyterhub_config.py, z2jh's singleuser.* values (mapped to
// the same traits) and `[spawner.options] "KubeSpawner.image" = "..."` in nbhub.toml mean
// the same. Values arrive as text: a string as it is, anything else as JSON.
//
// nbhub additions (not KubeSpawner traits), for the pain points of spec kubernetes.md §4:
//   KubeSpawner.schedule_timeout    seconds until the pod is scheduled (default start_timeout)
//   KubeSpawner.image_pull_timeout  seconds an image pull may take once it began (600)
//   KubeSpawner.watch_timeout       timeoutSeconds of each long watch (300; KubeSpawner: 10)
//   KubeSpawner.watch_stall_timeout a watch silent this long is reopened (150)
//   KubeSpawner.orphan_pods         labelled pods with no server record found at start-up
//                                   (hub/servers.cpp): "adopt" (default) those running with
//                                   this hub's token for that server and leave the others;
//                                   "delete" adopt and delete the others; "ignore" neither
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "spawn/profiles.hpp"
#include "spawn/kube_names.hpp"
#include "spawn/spawn_env.hpp"

namespace nbhub::spawn::kube {

// Where and how the API server is reached.
struct ApiAccess {
  std::string url;         // https://10.96.0.1:443, no trailing '/'
  std::string token;       // a fixed bearer token (kubeconfig), or
  std::string token_file;  // the service-account token, re-read every minute (it rotates)
  std::string ca_file;     // "" = the system store
  bool verify_tls = true;
};

struct KubeConfig {
  ApiAccess api;
  std::string namespace_ = "default";

  std::string image = "quay.io/jupyterhub/singleuser:latest";
  std::string image_pull_policy;      // "" = the cluster's default
  boost::json::array image_pull_secrets;  // [{"name": ...}]
  std::string pod_name_template = "jupyter-{user_server}";
  std::string pvc_name_template = "claim-{user_server}";
  SlugScheme slug_scheme = SlugScheme::safe;
  std::string component_label = "singleuser-server";
  boost::json::object common_labels{{"app", "jupyterhub"},
                                    {"heritage", "jupyterhub"},
                                    {"app.kubernetes.io/name", "jupyterhub"},
                                    {"app.kubernetes.io/managed-by", "kubespawner"}};
  boost::json::object extra_labels;
  boost::json::object extra_annotations;

  int port = 8888;
  std::optional<std::int64_t> uid, gid, fs_gid;
  boost::json::array supplemental_gids;
  std::optional<bool> privileged;
  std::optional<bool> allow_privilege_escalation = false;
  boost::json::object container_security_context, pod_security_context;
  std::string service_account;
  std::optional<bool> automount_service_account_token;
  std::string working_dir;
  boost::json::object node_selector;
  boost::json::array tolerations;
  std::string scheduler_name, priority_class_name;
  boost::json::array volumes, volume_mounts, init_containers, extra_containers;
  // spec.affinity, as KubeSpawner's make_pod assembles it from these lists.
  boost::json::array node_affinity_preferred, node_affinity_required, pod_affinity_preferred,
      pod_affinity_required, pod_anti_affinity_preferred, pod_anti_affinity_required;
  boost::json::object lifecycle_hooks, extra_pod_config, extra_container_config;
  boost::json::value mem_limit, mem_guarantee, cpu_limit, cpu_guarantee;  // null = unset
  boost::json::object extra_resource_limits, extra_resource_guarantees;
  // KubeSpawner.environment: strings (name fields expanded) or EnvVar bodies ({"valueFrom":
  // ...}); over Spawner.environment.
  boost::json::object environment;

  bool storage_pvc_ensure = false;
  std::string storage_capacity;
  boost::json::array storage_access_modes{"ReadWriteOnce"};
  std::string storage_class;
  boost::json::object storage_extra_labels, storage_selector;
  bool delete_pvc = true;

  bool events_enabled = true;
  std::chrono::seconds delete_grace_period{1};
  boost::json::array profile_list;
  bool adopt_orphans = true;    // orphan_pods "adopt" or "delete"
  bool delete_orphans = false;  // orphan_pods "delete": unusable ones (a foreign token) too

  std::chrono::seconds start_timeout{300};
  std::chrono::seconds schedule_timeout{0};  // 0 = start_timeout
  std::chrono::seconds image_pull_timeout{600};
  std::chrono::seconds request_timeout{10};
  std::chrono::seconds watch_timeout{300};
  std::chrono::seconds watch_stall_timeout{150};

  std::string jupyterhub_version;  // hub.jupyter.org/jupyterhub-version
  std::string data_dir = ".";      // nbhub's data_dir: a kubeconfig's inline CA is kept there
};

// Reads KubeSpawner.* (and Spawner.*) from `traits` on top of `base`, and the API access:
// k8s_api_host / k8s_api_ssl_ca_cert / k8s_api_verify_ssl; else, outside a pod, a kubeconfig
// (KUBECONFIG or ~/.kube/config; NBHUB_K8S_CONTEXT picks a context); else in-cluster
// (KUBERNETES_SERVICE_HOST/PORT and the service-account directory, NBHUB_K8S_SERVICE_ACCOUNT_DIR
// or /var/run/secrets/kubernetes.io/serviceaccount, whose `namespace` file is the default
// namespace). Errors (config) name the trait and what was expected, or say how to give nbhub
// access to the API.
Result<KubeConfig> kube_config_from_traits(KubeConfig base,
                                           std::map<std::string, std::string> const& traits,
                                           EnvLookup const& env);

// A service-account file (token, namespace) without its surrounding whitespace; nullopt when
// it cannot be read.
std::optional<std::string> read_trimmed_file(std::string const& path);

// profile_list entries for KubeSpawner: any trait it reads may be overridden, except namespace.
ProfileSchema kube_profile_schema();

// KubeConfig with a profile's kubespawner_override applied (trait names as keys, values as
// in jupyterhub_config.py). Errc::config names the trait.
Result<KubeConfig> apply_kube_overrides(KubeConfig base, boost::json::object const& overrides);

}  // namespace nbhub::spawn::kube
