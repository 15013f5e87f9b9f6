// The pod and claim the Kubernetes spawner creates, and how pod states are read back.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "spawn/kube_config.hpp"
#include "spawn/kube_objects.hpp"

namespace nbhub::spawn::kube {
namespace {

namespace json = boost::json;

json::object parse(char const* s) { return json::parse(s).as_object(); }

TEST(KubePodManifest, CarriesKubeSpawnerLabelsAnnotationsAndArgs) {
  KubeConfig cfg;
  cfg.namespace_ = "jhub";
  cfg.uid = 1000;
  cfg.fs_gid = 100;
  cfg.extra_labels = json::object{{"hub.jupyter.org/network-access-hub", "true"}};
  cfg.mem_guarantee = "1G";
  cfg.storage_pvc_ensure = true;
  cfg.storage_capacity = "10Gi";
  cfg.volumes = json::array{json::object{{"name", "volume-{user_server}"},
                                         {"persistentVolumeClaim", json::object{{"claimName", "{pvc_name}"}}}}};
  SpawnRequest req{"alice", "", {}, "/user/alice/"};
  auto names = server_names(cfg, "alice", "");
  ASSERT_TRUE(names);
  EXPECT_EQ(names->pod, "jupyter-alice");
  EXPECT_EQ(names->pvc, "claim-alice");
  auto pod = pod_manifest(cfg, req, *names, {{"JUPYTERHUB_USER", "alice"}},
                          json::object{{"POD_IP", parse(R"({"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}})")}},
                          {"jupyterhub-singleuser"});
  auto const& md = pod.at("metadata").as_object();
  auto const& labels = md.at("labels").as_object();
  EXPECT_EQ(labels.at("component"), "singleuser-server");
  EXPECT_EQ(labels.at("hub.jupyter.org/username"), "alice");
  EXPECT_EQ(labels.at("hub.jupyter.org/servername"), "");
  EXPECT_EQ(labels.at("hub.jupyter.org/network-access-hub"), "true");
  EXPECT_EQ(labels.at("app"), "jupyterhub");
  EXPECT_EQ(md.at("annotations").at("hub.jupyter.org/username"), "alice");
  auto const& spec = pod.at("spec").as_object();
  EXPECT_EQ(spec.at("restartPolicy"), "OnFailure");
  EXPECT_EQ(spec.at("automountServiceAccountToken"), false);
  EXPECT_EQ(spec.at("securityContext").at("fsGroup"), 100);
  auto const& c = spec.at("containers").at(0).as_object();
  EXPECT_EQ(c.at("name"), "notebook");
  EXPECT_EQ(c.at("args").at(0), "jupyterhub-singleuser");
  EXPECT_FALSE(c.contains("command"));  // the image's ENTRYPOINT stays
  EXPECT_EQ(c.at("securityContext").at("runAsUser"), 1000);
  EXPECT_EQ(c.at("resources").at("requests").at("memory"), 1073741824);  // ByteSpecification
  EXPECT_EQ(c.at("env").at(0).at("name"), "JUPYTERHUB_USER");
  EXPECT_EQ(c.at("env").at(1).at("valueFrom").at("fieldRef").at("fieldPath"), "status.podIP");
  EXPECT_EQ(spec.at("volumes").at(0).at("name"), "volume-alice");
  EXPECT_EQ(spec.at("volumes").at(0).at("persistentVolumeClaim").at("claimName"), "claim-alice");
  auto pvc = pvc_manifest(cfg, req, *names);
  EXPECT_EQ(pvc.at("metadata").at("labels").at("component"), "singleuser-storage");
  EXPECT_EQ(pvc.at("spec").at("resources").at("requests").at("storage"), "10Gi");
}

TEST(KubePodManifest, AffinityAsKubeSpawnerAssemblesIt) {
  KubeConfig cfg;
  cfg.node_affinity_preferred = json::parse(R"([{"weight": 100, "preference": {"matchExpressions":
      [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}}])").as_array();
  cfg.node_affinity_required = json::parse(R"([{"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}])").as_array();
  SpawnRequest req{"alice", "", {}, "/user/alice/"};
  auto names = server_names(cfg, "alice", "");
  ASSERT_TRUE(names);
  auto pod = pod_manifest(cfg, req, *names, {}, {}, {});
  auto const& na = pod.at("spec").at("affinity").at("nodeAffinity");
  EXPECT_EQ(na.at("preferredDuringSchedulingIgnoredDuringExecution").at(0).at("weight"), 100);
  EXPECT_EQ(na.at("requiredDuringSchedulingIgnoredDuringExecution").at("nodeSelectorTerms").at(0)
                .at("matchExpressions").at(0).at("key"), "gpu");
  EXPECT_FALSE(pod.at("spec").at("affinity").as_object().contains("podAffinity"));
}

TEST(KubePodManifest, RefusesATemplateThatMakesNoPodName) {
  KubeConfig cfg;
  cfg.pod_name_template = "Jupyter_{username}";
  auto names = server_names(cfg, "alice", "");
  ASSERT_FALSE(names);
  EXPECT_NE(names.error().message.find("pod_name_template"), std::string::npos);
}

TEST(KubePodManifest, LegacyClaimNameOfChartOne) {
  KubeConfig cfg;
  EXPECT_EQ(legacy_pvc_name(cfg, "alice@example.org", ""), "claim-alice-40example-2eorg");
  EXPECT_EQ(legacy_pvc_name(cfg, "alice", "gpu"), "claim-alicegpu");
}

TEST(KubePodView, ReadyOnlyWhenRunningWithIpAndAllContainersReady) {
  auto v = view_pod(parse(R"({"metadata": {"uid": "u1"}, "status": {"phase": "Running", "podIP": "127.1.2.3",
      "containerStatuses": [{"name": "notebook", "ready": true, "state": {"running": {}}}]}})"));
  EXPECT_TRUE(v.ready);
  EXPECT_EQ(v.uid, "u1");
  auto t = view_pod(parse(R"({"metadata": {"deletionTimestamp": "x"}, "status": {"phase": "Running",
      "podIP": "127.1.2.3", "containerStatuses": [{"name": "notebook", "ready": true}]}})"));
  EXPECT_FALSE(t.ready);
  EXPECT_TRUE(t.terminating);
}

TEST(KubePodView, FailuresAreExplained) {
  auto evicted = view_pod(parse(R"({"status": {"phase": "Failed", "reason": "Evicted",
      "message": "The node was low on resource: memory."}})"));
  EXPECT_EQ(pod_failure(evicted), "the pod was evicted: The node was low on resource: memory.");
  auto pull = view_pod(parse(R"({"status": {"phase": "Pending", "containerStatuses": [{"name": "notebook",
      "ready": false, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}}}]}})"));
  EXPECT_NE(pod_failure(pull).find("ImagePullBackOff"), std::string::npos);
  auto oom = view_pod(parse(R"({"status": {"phase": "Failed", "containerStatuses": [{"name": "notebook",
      "ready": false, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}})"));
  EXPECT_NE(pod_failure(oom).find("out of memory"), std::string::npos);
  EXPECT_EQ(oom.exit_code, 137);
  auto pending = view_pod(parse(R"({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled",
      "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]}})"));
  EXPECT_EQ(pod_failure(pending), "");  // may still be scheduled (autoscaling)
  EXPECT_EQ(pending.unschedulable, "0/3 nodes are available");
}

}  // namespace
}  // namespace nbhub::spawn::kube
