#pragma once
// KubeSpawner: each server is a pod (and, with storage_pvc_ensure, a PersistentVolumeClaim),
// created through the Kubernetes API with nbhub's own HTTP client. Modelled on the
// kubespawner package (KubeSpawner 7); settings in kube_config.hpp, objects in
// kube_objects.hpp, the API in kube_api.hpp. Only the verbs of z2jh's hub Role are used.
//
// One Reflector (kube_reflector.hpp) watches the namespace's user pods for the whole hub:
// poll() reads that copy and makes no API call, and a pod that fails, is evicted or vanishes
// is reported to the hub at once (set_exit_listener). Events are watched only while a spawn
// runs, with a field selector for that pod, and shown as its progress.
//
// start():
//   1. the claim: kept when it exists under the current name, or under KubeSpawner's legacy
//      escape-scheme name, or as a claim annotated for this user and server; created
//      otherwise (409 counts as made; 403 with an existing claim too: the quota case);
//   2. a leftover pod of the same name is deleted first (waiting for it to go), then the pod
//      is created (one POST; a 409 race deletes and retries once);
//   3. it waits, with separate deadlines: scheduled within schedule_timeout (autoscaling may
//      add a node), the image pulled within image_pull_timeout once the kubelet began pulling,
//      and the server running and ready within start_timeout after that. Unschedulable,
//      image-pull, crash and eviction reasons are shown in the progress and in the error;
//   4. on any failure or cancellation the pod is deleted (grace 0) before start() returns.
//   The URL is http://<podIP>:<port>.
//
// State: {"pod_name", "namespace", "pvc_name", "uid", "url", "kubespawner_version"}, the
// keys KubeSpawner 7 writes (plus uid and url), so an imported JupyterHub database's spawner
// state is adopted as it is. stop(): DELETE with gracePeriodSeconds = delete_grace_period (0
// when `now`), then wait for the pod to be gone; 404 is success. The claim is kept.
#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <memory>
#include <mutex>

#include "core/snapshot.hpp"
#include "http/client.hpp"
#include "spawn/kube_api.hpp"
#include "spawn/kube_config.hpp"
#include "spawn/kube_objects.hpp"
#include "spawn/kube_reflector.hpp"
#include "spawn/spawner.hpp"
#include "spawn/spawner_config.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn::kube {

class KubeSpawner final : public Spawner {
 public:
  // `http` must verify the API server with cfg.api.ca_file (the composition root builds one
  // for it). References must outlive the spawner; the pod watch starts at once on `ex`.
  KubeSpawner(SpawnerConfig cfg, KubeConfig kube, http::HttpClient& http,
              net::any_io_executor ex, spdlog::logger& log);
  ~KubeSpawner() override;

  // A configuration reload (docs/operations.md): spawns from now on use these settings (image,
  // resources, profiles, labels, volumes, command, environment, ...); running pods are not
  // touched. What the pod watch and the API client were built with (API server and
  // credentials, namespace, component label, API and watch timeouts) and the start-up
  // adoption (orphan_pods) keep their running values; those that changed are named by
  // restart_only_changes(), for the reload's warning.
  void set_config(SpawnerConfig cfg, KubeConfig kube);
  std::vector<std::string> restart_only_changes(KubeConfig kube) const;

  net::awaitable<Result<Started>> start(SpawnRequest req, ProgressSink& sink) override;
  net::awaitable<std::optional<int>> poll(boost::json::object state) override;
  net::awaitable<Result<void>> stop(boost::json::object state, bool now) override;
  Result<void> adopt(boost::json::object const& state) override;
  net::awaitable<std::string> output_tail(boost::json::object state) override;
  net::awaitable<std::string> exit_reason(boost::json::object state) override;
  void set_exit_listener(std::function<void()> listener) override;
  net::awaitable<std::vector<Found>> discover() override;

  // The time the whole of start() may take: scheduling + pull + start, for SpawnQueue.
  static std::chrono::seconds overall_start_timeout(KubeConfig const& k);

  Reflector::Stats pod_watch_stats() const { return pods_->stats(); }
  std::uint64_t api_requests() const { return api_.requests_sent(); }

 private:
  net::awaitable<bool> ensure_synced();
  net::awaitable<Result<std::string>> ensure_pvc(KubeConfig const& k, SpawnRequest const& req,
                                                 ServerNames const& names,
                                                 ProgressSink& sink);
  net::awaitable<Result<void>> delete_pod(std::string name, std::chrono::seconds grace,
                                          bool wait);
  net::awaitable<Result<Started>> wait_running(KubeConfig const& k, SpawnRequest const& req,
                                               ServerNames const& names,
                                               std::string uid, Reflector* events,
                                               ProgressSink& sink);
  void on_pod_event(std::string const& type, boost::json::object const& pod);
  std::vector<std::string> pin_fixed(KubeConfig& next) const;  // see set_config

  struct Settings {
    SpawnerConfig cfg;
    KubeConfig kube;
  };
  KubeConfig const kube_;       // at start-up: the API, namespace, watch and adoption settings
  Snapshot<Settings> settings_;  // what spawns use; loaded once per spawn
  KubeApi api_;
  net::any_io_executor ex_;
  spdlog::logger& log_;
  std::chrono::steady_clock::time_point const first_sync_deadline_;
  std::shared_ptr<Reflector> pods_;
  std::mutex mu_;
  std::function<void()> exit_listener_;  // GUARDED_BY(mu_)
  std::map<std::string, std::string> running_;  // GUARDED_BY(mu_): pod name -> uid, servers we run
};

}  // namespace nbhub::spawn::kube
