"""Issue 9: the Kubernetes spawner's scenarios of spec kubernetes.md §5.1 beyond the main flow
(test_kube_spawner): named servers, claims that exist already (current, legacy and quota-refused),
a leftover pod, an image pull that outlasts its deadline, a crash at start, and the API server
down for a minute. Each asserts the traffic from the fake's request log.
"""
import json
import os
import re
import shutil
import sqlite3
import time
import unittest

from harness.kube import KubeHubTest
from harness.session import follow, sign_in
from test_kube_spawner import hub_log, server_error, spawn_and_wait, start, stop

SINGLEUSER = shutil.which("jupyterhub-singleuser")
CLAIMS = "/api/v1/namespaces/jhub/persistentvolumeclaims"
STORAGE = {"KubeSpawner.storage_pvc_ensure": "true", "KubeSpawner.storage_capacity": "1Gi",
           "KubeSpawner.volumes": [{"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
           "KubeSpawner.volume_mounts": [{"name": "volume-{user_server}", "mountPath": "/home/jovyan"}]}


def claim(name, annotations=None):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class KubeScenarios(KubeHubTest):
    def creates(self, resource):
        return [r for r in self.rig.hub_requests() if r["verb"] == "create" and r["resource"] == resource]

    def test_named_server_gets_its_own_pod_and_legacy_claim_is_reused(self):
        # KubeSpawner < 7 (chart 1.2.0) named this server's claim claim-{username}{servername}.
        code, body = self.rig.api("POST", CLAIMS, claim("claim-alicegpu"))
        self.assertEqual(code, 201, body)
        hub = self.hub(STORAGE, extra="allow_named_servers = true")
        alice = sign_in(hub, "alice", "alice-pw")
        r = alice.get(hub.url("/hub/spawn/alice/gpu"))
        self.assertEqual(r.status, 302, r.text)
        deadline = time.time() + 90
        while time.time() < deadline:
            srv = alice.get(hub.url("/hub/api/user")).json().get("servers", {}).get("gpu", {})
            if srv.get("ready"):
                break
            time.sleep(0.2)
        self.assertTrue(srv.get("ready"), hub_log(hub))
        pod = self.rig.pod("jupyter-alice--gpu")
        self.assertIsNotNone(pod)
        self.assertEqual(pod["metadata"]["annotations"]["hub.jupyter.org/servername"], "gpu")
        self.assertEqual(pod["metadata"]["labels"]["hub.jupyter.org/servername"], "gpu")
        self.assertEqual(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "claim-alicegpu")
        self.assertEqual(self.creates("persistentvolumeclaims"), [], "the legacy claim is used, not a new one")
        r = follow(alice, hub, alice.get(hub.url("/user/alice/gpu/tree")))
        self.assertEqual(r.status, 200)
        self.assert_role_only()

    def test_existing_claim_quota_refusal_and_leftover_pod(self):
        # A claim exists but is not visible to the first look (a stale cache upstream), and the
        # create is refused by a quota: KubeSpawner's 403 path finds it and goes on.
        code, _ = self.rig.api("POST", CLAIMS, claim("claim-alice"))
        self.assertEqual(code, 201)
        self.rig.fake.add_fault(verb="get", resource="persistentvolumeclaims", name="claim-alice", status=404, count=1)
        self.rig.fake.add_fault(verb="create", resource="persistentvolumeclaims", status=403,
                                message='persistentvolumeclaims "claim-alice" is forbidden: exceeded quota', count=1)
        # And a pod of the same name left from an earlier hub.
        leftover = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "jupyter-alice", "labels": {"component": "singleuser-server"}},
                    "spec": {"containers": [{"name": "notebook", "image": "x", "args": ["sleep", "600"]}]}}
        code, old = self.rig.api("POST", "/api/v1/namespaces/jhub/pods", leftover)
        self.assertEqual(code, 201, old)
        hub = self.hub(STORAGE)
        alice = sign_in(hub, "alice", "alice-pw")
        spawn_and_wait(hub, alice)
        pod = self.rig.pod("jupyter-alice")
        self.assertNotEqual(pod["metadata"]["uid"], old["metadata"]["uid"], "the leftover pod was replaced")
        self.assertEqual(len(self.creates("persistentvolumeclaims")), 1)
        self.assertEqual(len(self.creates("pods")), 1)
        deletes = [r for r in self.rig.hub_requests() if r["verb"] == "delete" and r["resource"] == "pods"]
        self.assertEqual(len(deletes), 1)
        self.assertIn("gracePeriodSeconds=0", deletes[0]["query"])
        self.assert_role_only()

    def test_slow_pull_and_crash_at_start_fail_with_reasons(self):
        hub = self.hub({"KubeSpawner.image_pull_timeout": "2"})
        alice = sign_in(hub, "alice", "alice-pw")
        self.rig.fake.set_kubelet(rules=[{"namespace": "jhub", "name_regex": "jupyter-alice", "pull_delay": 30}])
        start(hub, alice)
        msg = server_error(hub, alice)
        self.assertIn("could not pull its image within 2 s", msg)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))
        hub.stop(cleanup=False)

        hub = self.hub(extra='cmd = ["/nonexistent/jupyterhub-singleuser"]')
        self.rig.fake.set_kubelet(rules=[])
        start(hub, alice)
        msg = server_error(hub, alice)
        self.assertIn("jupyter-alice", msg)
        self.assertRegex(msg, "StartError|exit code 128")
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))
        self.assert_role_only()

    def test_kubeconfig_outside_a_pod_and_oom_while_running(self):
        kc = self.rig.fake.kubeconfig(os.path.join(self.rig.dir, "kubeconfig"), namespace="jhub",
                                      token_file=os.path.join(self.rig.sa_dir, "token"))
        # No namespace trait: the context's is used. No in-cluster variables: the kubeconfig is read.
        hub = self.hub({"KubeSpawner.namespace": None}, env={"KUBECONFIG": kc})
        self.assertIn(f"API {self.rig.fake.url}, namespace jhub", hub.log())
        alice = sign_in(hub, "alice", "alice-pw")
        spawn_and_wait(hub, alice)
        self.rig.fake.pod_fault("jhub", "jupyter-alice", "oom")
        deadline = time.time() + 15
        while time.time() < deadline and alice.get(hub.url("/hub/api/user")).json()["servers"]:
            time.sleep(0.2)
        self.assertFalse(alice.get(hub.url("/hub/api/user")).json()["servers"], hub_log(hub))
        self.assertIn("out of memory (OOMKilled)", hub.log())
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))
        self.assert_role_only()

    def test_profile_list_form_picks_the_pod_image(self):
        profiles = [{"display_name": "Default", "description": "The standard image"},
                    {"display_name": "Data science", "slug": "ds",
                     "kubespawner_override": {"image": "example.org/ds:1", "mem_limit": "2G"},
                     "profile_options": {"flavor": {"display_name": "Flavor", "choices": {
                         "py": {"display_name": "Python", "default": True},
                         "r": {"display_name": "R", "kubespawner_override": {"image": "example.org/r:4"}}}}}}]
        hub = self.hub({"KubeSpawner.profile_list": profiles})
        alice = sign_in(hub, "alice", "alice-pw")
        page = alice.get(hub.url("/hub/spawn"))
        self.assertEqual(page.status, 200, "with a profile list, GET shows the form instead of starting")
        self.assertIn('name="profile-option-ds--flavor"', page.text)
        self.assertIsNone(self.rig.pod("jupyter-alice"))
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        r = alice.post(hub.url("/hub/spawn"), data={"_xsrf": token, "profile": "ds", "profile-option-ds--flavor": "r"})
        self.assertEqual(r.status, 303, r.text[:300])
        deadline = time.time() + 60
        while time.time() < deadline and not alice.get(hub.url("/hub/api/user")).json().get("servers", {}).get("", {}).get("ready"):
            time.sleep(0.2)
        pod = self.rig.pod("jupyter-alice")
        self.assertEqual(pod["spec"]["containers"][0]["image"], "example.org/r:4")
        self.assertEqual(pod["spec"]["containers"][0]["resources"]["limits"]["memory"], 2 * 1024 ** 3)
        r = alice.post(hub.url("/hub/spawn/alice/x"), data={"_xsrf": token, "profile": "huge"})
        self.assertEqual(r.status, 400)
        self.assertIn("There is no server profile", r.text)

    def test_kubespawner_7_state_is_adopted(self):
        """A server row holding exactly what KubeSpawner 7 keeps in JupyterHub's spawners.state
        (pod_name, namespace, dns_name, pvc_name, kubespawner_version; no uid or url of nbhub's)
        is adopted by pod name after a restart."""
        hub = self.hub(STORAGE)
        alice = sign_in(hub, "alice", "alice-pw")
        spawn_and_wait(hub, alice)
        self.assertEqual(follow(alice, hub, alice.get(hub.url("/user/alice/tree"))).status, 200)
        hub.stop(cleanup=False)
        db = sqlite3.connect(os.path.join(self.workdir, "nbhub.sqlite"))
        ks7 = {"kubespawner_version": "7.0.0", "pod_name": "jupyter-alice", "namespace": "jhub",
               "dns_name": "jupyter-alice.jhub.svc.cluster.local", "pvc_name": "claim-alice"}
        db.execute("UPDATE servers SET state = ? WHERE name = ''", (json.dumps(ks7),))
        db.commit()
        db.close()
        hub = self.hub(STORAGE)
        self.assertIn("adopted running server /user/alice/", hub.log())
        self.assertEqual(alice.get(hub.url("/user/alice/api/status")).status, 200)
        # And the pod it names is the one stopped.
        stop(hub, alice)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))

    def test_api_down_for_a_minute(self):
        hub = self.hub()
        alice = sign_in(hub, "alice", "alice-pw")
        spawn_and_wait(hub, alice)
        self.assertEqual(follow(alice, hub, alice.get(hub.url("/user/alice/tree"))).status, 200)
        self.rig.fake.set_down(60)
        time.sleep(5)
        # The notebook keeps working through nbhub while the API server is away.
        self.assertEqual(alice.get(hub.url("/user/alice/api/status")).status, 200)
        self.assertTrue(alice.get(hub.url("/hub/api/user")).json()["servers"][""]["ready"])
        time.sleep(56)
        self.rig.fake.up()
        seq = self.rig.fake.requests()[-1]["seq"] if self.rig.fake.requests() else 0
        # Back: the watch resumes within its backoff (at most 30 s) and sees changes again.
        deadline = time.time() + 45
        while time.time() < deadline and not [r for r in self.rig.fake.requests(since=seq) if r["verb"] == "watch"]:
            time.sleep(0.5)
        self.rig.api("DELETE", "/api/v1/namespaces/jhub/pods/jupyter-alice?gracePeriodSeconds=0")
        deadline = time.time() + 20
        while time.time() < deadline and alice.get(hub.url("/hub/api/user")).json()["servers"]:
            time.sleep(0.3)
        self.assertFalse(alice.get(hub.url("/hub/api/user")).json()["servers"], hub_log(hub))
        self.assertIn("retrying in", hub.log())
        lists = [r for r in self.rig.hub_requests() if r["verb"] == "list" and r["resource"] == "pods"]
        self.assertLessEqual(len(lists), 2, "the outage must not cause a relist storm")
        self.assert_role_only()


if __name__ == "__main__":
    unittest.main()
