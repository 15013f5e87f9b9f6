#pragma once
// The objects the Kubernetes spawner creates, and how it reads a pod's state back. Pods and
// claims carry KubeSpawner 7's names, labels and annotations (spec kubernetes.md §2.4, §2.5)
// so that z2jh's NetworkPolicies and user-scheduler keep working and KubeSpawner's own
// objects are recognised.
#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "spawn/kube_config.hpp"
#include "spawn/spawner.hpp"

namespace nbhub::spawn::kube {

inline constexpr char const* kKubeSpawnerCompat = "7.0.0";  // the naming scheme we follow
inline constexpr char const* kUserAnnotation = "hub.jupyter.org/username";
inline constexpr char const* kServerAnnotation = "hub.jupyter.org/servername";

struct ServerNames {
  std::string pod;
  std::string pvc;  // "" without storage
  std::string namespace_;
};

// The names under the configured scheme (pod_name_template, pvc_name_template). Errc::config
// when the template yields an invalid object name (the message names the template).
Result<ServerNames> server_names(KubeConfig const& cfg, std::string const& user,
                                 std::string const& server);
// The claim name KubeSpawner < 7 (escape scheme) gave the same server, for adoption.
std::string legacy_pvc_name(KubeConfig const& cfg, std::string const& user,
                            std::string const& server);

// POST body of the pod. `env` is the server's full environment (the hub's contract plus
// spawner and admin variables); `environment` values that are EnvVar dicts (valueFrom) are
// taken from cfg.environment by the caller and passed in `env_sources`.
boost::json::object pod_manifest(KubeConfig const& cfg, SpawnRequest const& req,
                                 ServerNames const& names,
                                 std::map<std::string, std::string> const& env,
                                 boost::json::object const& env_sources,
                                 std::vector<std::string> const& command);
boost::json::object pvc_manifest(KubeConfig const& cfg, SpawnRequest const& req,
                                 ServerNames const& names);

// Replaces name fields ({username}, {user_server}, {pvc_name}, ...) in every string of `v`.
boost::json::value expand_all(boost::json::value const& v, NameFields const& f, SlugScheme s);

// What a pod's status says, for the spawn's wait and for poll().
struct PodView {
  bool exists = false;
  std::string uid;
  std::string phase;           // Pending, Running, Succeeded, Failed
  std::string ip;              // status.podIP
  bool terminating = false;    // metadata.deletionTimestamp
  bool ready = false;          // Running, an IP, not terminating, every container ready
  bool scheduled = false;      // PodScheduled True
  std::string unschedulable;   // PodScheduled False's message
  std::string waiting_reason;  // notebook container: ErrImagePull, CrashLoopBackOff, ...
  std::string waiting_message;
  std::optional<int> exit_code;  // notebook container terminated (now or, crash-looping, last)
  std::string terminated_reason;  // OOMKilled, Error, Completed
  bool running_container = false;  // the notebook container's state is `running`
  std::string pod_reason;         // status.reason: Evicted
  std::string pod_message;
};
PodView view_pod(boost::json::object const& pod);

// Why a pod can no longer become (or stay) a working server, for the user; "" when it can.
std::string pod_failure(PodView const& v);

}  // namespace nbhub::spawn::kube
