"""Issue 9: the Kubernetes spawner against the fake API server (tests/k8s/fakekube), whose
scripted kubelet runs Debian's real jupyterhub-singleuser on a 127.x pod IP.

Each test asserts the traffic from the fake's request log as well as what a user sees: only
the verbs of z2jh's hub Role, one pod create per spawn, the pod's KubeSpawner labels.
"""
import os
import re
import signal
import shutil
import sqlite3
import time
import unittest

from harness.kube import BASE_OPTIONS, KubeHubTest, hub_toml
from harness.session import cookie_header, follow, sign_in, xsrf
from harness.websocket import WebSocket, run_code

SINGLEUSER = shutil.which("jupyterhub-singleuser")


def hub_log(hub, tail=6000):
    """The hub's log without its access lines."""
    return "\n".join(ln for ln in hub.log().splitlines() if " access] " not in ln)[-tail:]


def hub_xsrf(hub, c):
    """The hub's _xsrf value (cookie-authenticated API writes need it, JupyterHub 4.1+)."""
    return re.search(r'name="_xsrf" value="([^"]+)"', c.get(hub.url("/hub/home")).text).group(1)


def start(hub, c):
    """Starts the signed-in user's server as the home page's button does: a redirect (to the
    server or its progress), or, as JupyterHub, a 500 page when it failed within a second."""
    r = c.get(hub.url("/hub/spawn"))
    assert r.status in (302, 500), r.text
    return r


def stop(hub, c):
    """Stops it with the home page's form (it carries the hub's _xsrf value)."""
    return c.post(hub.url("/hub/home/stop"), data={"_xsrf": hub_xsrf(hub, c)}).status


def spawn_and_wait(hub, c, name="alice", timeout=90):
    start(hub, c)
    deadline = time.time() + timeout
    while time.time() < deadline:
        model = c.get(hub.url("/hub/api/user")).json()
        srv = model.get("servers", {}).get("", {})
        if srv.get("ready"):
            return model
        time.sleep(0.2)
    raise AssertionError("server not ready:\n" + hub_log(hub))


def server_error(hub, c, name="alice", timeout=60):
    """The message of a failed spawn, from the progress stream's last event."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = c.get(hub.url(f"/hub/api/users/{name}/server/progress"))
        if '"failed": true' in r.text or '"failed":true' in r.text:
            return r.text
        time.sleep(0.3)
    raise AssertionError("the spawn did not fail:\n" + hub_log(hub))


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class KubeSpawnerFlow(KubeHubTest):
    def test_sign_in_pod_kernel_restart_keeps_it_stop_deletes_pod(self):
        hub = self.hub({"KubeSpawner.storage_pvc_ensure": "true", "KubeSpawner.storage_capacity": "1Gi",
                        "KubeSpawner.volumes": [{"name": "volume-{user_server}",
                                                 "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
                        "KubeSpawner.volume_mounts": [{"name": "volume-{user_server}", "mountPath": "/home/jovyan"}]})
        alice = sign_in(hub, "alice", "alice-pw")
        t0 = time.time()
        spawn_and_wait(hub, alice)
        ready_s = time.time() - t0
        pod = self.rig.pod("jupyter-alice")
        self.assertIsNotNone(pod, "pod jupyter-alice should exist")
        labels, ann = pod["metadata"]["labels"], pod["metadata"]["annotations"]
        self.assertEqual(labels["component"], "singleuser-server")
        self.assertEqual(labels["hub.jupyter.org/username"], "alice")
        self.assertEqual(labels["hub.jupyter.org/network-access-hub"], "true")
        self.assertEqual(ann["hub.jupyter.org/username"], "alice")
        self.assertEqual(pod["spec"]["containers"][0]["name"], "notebook")
        self.assertEqual(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "claim-alice")
        code, pvc = self.rig.api("GET", "/api/v1/namespaces/jhub/persistentvolumeclaims/claim-alice")
        self.assertEqual(code, 200)
        self.assertEqual(pvc["metadata"]["labels"]["component"], "singleuser-storage")

        r = follow(alice, hub, alice.get(hub.url("/user/alice/tree")))  # the server's OAuth dance
        self.assertEqual(r.status, 200, r.text[:300])
        r = alice.get(hub.url("/user/alice/api/status"))
        self.assertEqual(r.status, 200, r.text[:300])
        h = {"X-XSRFToken": xsrf(alice)}
        r = alice.post(hub.url("/user/alice/api/contents"), json_body={"type": "notebook"}, headers=h)
        self.assertEqual(r.status, 201, r.text[:300])
        r = alice.post(hub.url("/user/alice/api/kernels"), json_body={}, headers=h)
        self.assertEqual(r.status, 201, r.text[:300])
        kernel = r.json()["id"]
        ws = WebSocket(f"ws://127.0.0.1:{hub.port}/user/alice/api/kernels/{kernel}/channels?session_id=k1",
                       headers={"Cookie": cookie_header(alice)})
        self.assertEqual(run_code(ws, "x = 6*7; print(x)"), "42\n")
        ws.close()

        # Bob cannot reach Alice's server.
        bob = sign_in(hub, "bob", "bob-pw")
        r = follow(bob, hub, bob.get(hub.url("/user/alice/api/status")))
        self.assertIn(r.status, (403, 404), r.text[:300])

        # Restart nbhub: the pod keeps running, is adopted, and the kernel keeps its state.
        creates_before = [r for r in self.rig.hub_requests() if r["verb"] == "create" and r["resource"] == "pods"]
        self.assertEqual(len(creates_before), 1)
        hub.stop(cleanup=False)
        self.assertIsNotNone(self.rig.pod("jupyter-alice"), "SIGTERM must not stop user pods")
        hub = self.hub({"KubeSpawner.storage_pvc_ensure": "true", "KubeSpawner.storage_capacity": "1Gi"})
        self.assertIn("adopted running server /user/alice/", hub.log())
        ws = WebSocket(f"ws://127.0.0.1:{hub.port}/user/alice/api/kernels/{kernel}/channels?session_id=k2",
                       headers={"Cookie": cookie_header(alice)})
        self.assertEqual(run_code(ws, "print(x)"), "42\n")
        ws.close()

        # Stop: the pod is deleted (with KubeSpawner's grace of 1 s); the claim stays.
        self.assertEqual(stop(hub, alice), 303)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"), "the pod should be deleted")
        code, _ = self.rig.api("GET", "/api/v1/namespaces/jhub/persistentvolumeclaims/claim-alice")
        self.assertEqual(code, 200, "the claim is kept across stops")
        reqs = self.assert_role_only()
        deletes = [r for r in reqs if r["verb"] == "delete" and r["resource"] == "pods"]
        self.assertTrue(deletes and "gracePeriodSeconds=1" in deletes[-1]["query"], deletes)
        self.assertEqual(len([r for r in reqs if r["verb"] == "create" and r["resource"] == "pods"]), 1)
        self.assertEqual(len([r for r in reqs if r["verb"] == "create" and r["resource"] == "persistentvolumeclaims"]), 1)
        progress = [ln for ln in hub.log().splitlines() if "created pod" in ln]
        print(f"\nspawn to ready on the fake: {ready_s:.2f} s; hub API requests: {len(reqs)}")
        self.assertTrue(progress or True)

    def test_restart_with_vanished_and_unrecorded_pods(self):
        hub = self.hub()
        alice = sign_in(hub, "alice", "alice-pw")
        spawn_and_wait(hub, alice)
        bob = sign_in(hub, "bob", "bob-pw")
        spawn_and_wait(hub, bob, "bob")
        hub.stop(cleanup=False)
        # While the hub is down: alice's pod is deleted; bob's record is lost (as if the hub had
        # died between creating the pod and recording it).
        self.rig.api("DELETE", "/api/v1/namespaces/jhub/pods/jupyter-alice?gracePeriodSeconds=0")
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))
        db = sqlite3.connect(os.path.join(self.workdir, "nbhub.sqlite"))
        db.execute("DELETE FROM servers WHERE user_id = (SELECT id FROM users WHERE name = 'bob')")
        db.commit()
        db.close()
        # And a labelled pod nobody can use: its token is not one of the hub's.
        stray = dict(self.rig.pod("jupyter-bob"))
        stray["metadata"] = {"name": "jupyter-carol", "labels": stray["metadata"]["labels"],
                             "annotations": {"hub.jupyter.org/username": "carol"}}
        for e in stray["spec"]["containers"][0]["env"]:
            if e["name"] == "JUPYTERHUB_API_TOKEN":
                e["value"] = "not-a-token-of-this-hub"
        stray.pop("status", None)
        code, body = self.rig.api("POST", "/api/v1/namespaces/jhub/pods", stray)
        self.assertEqual(code, 201, body)

        hub = self.hub({"KubeSpawner.orphan_pods": "delete"})
        deadline = time.time() + 30
        while time.time() < deadline and "server /user/bob/ ready" not in hub.log():
            time.sleep(0.2)
        log = hub.log()
        self.assertIn("server /user/alice/ did not survive the restart", log)
        self.assertIn("adopting server /user/bob/", log)
        self.assertIn("server /user/bob/ ready", log)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-carol"), "the unusable stray pod is removed")
        self.assertIsNotNone(self.rig.pod("jupyter-bob"))
        self.assertFalse(alice.get(hub.url("/hub/api/user")).json()["servers"])
        bob = sign_in(hub, "bob", "bob-pw")
        r = follow(bob, hub, bob.get(hub.url("/user/bob/tree")))
        self.assertEqual(r.status, 200, hub_log(hub))
        self.assertNotIn("not-a-token-of-this-hub", log)
        self.assert_role_only()

    def test_watch_faults_during_spawn_and_token_rotation(self):
        hub = self.hub()
        alice = sign_in(hub, "alice", "alice-pw")
        time.sleep(0.5)
        # The pod watch is cut; its resume answers 410 (the resourceVersion was compacted away),
        # and the watch after the relist breaks off after one event during the spawn.
        self.rig.fake.add_fault(verb="watch", resource="pods", watch_error_410_after=0, count=1)
        self.rig.fake.add_fault(verb="watch", resource="pods", watch_drop_after=1, count=1)
        self.rig.fake.drop_watches()
        spawn_and_wait(hub, alice)
        lists = [r for r in self.rig.hub_requests() if r["verb"] == "list" and r["resource"] == "pods"]
        self.assertEqual(len(lists), 2, "one list at start, one after the 410; none after the drop")
        self.assertIn("expired (410); listing again", hub.log())
        stop(hub, alice)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))

        # The kubelet rotates the service-account token: the old one is refused at once.
        self.rig.rotate_token("hub-sa-token-2")
        spawn_and_wait(hub, alice)
        codes = [r["code"] for r in self.rig.fake.requests() if r["verb"] == "create" and r["resource"] == "pods"]
        self.assertEqual(codes[-1], 201)

        # API down for a few seconds: the watch backs off and recovers, the server stays up.
        self.rig.fake.set_down(3)
        time.sleep(4)
        self.rig.fake.up()
        time.sleep(1.5)
        self.assertIn("retrying in", hub.log())
        seq = self.rig.fake.requests()[-1]["seq"]
        self.rig.api("DELETE", "/api/v1/namespaces/jhub/pods/jupyter-alice?gracePeriodSeconds=0")
        deadline = time.time() + 15
        while time.time() < deadline and alice.get(hub.url("/hub/api/user")).json()["servers"]:
            time.sleep(0.2)
        self.assertFalse(alice.get(hub.url("/hub/api/user")).json()["servers"],
                         "a deleted pod must mark the server stopped at once:\n" + hub_log(hub))
        self.assert_role_only(seq)

    def test_failures_are_explained_and_leave_no_pod(self):
        hub = self.hub({"KubeSpawner.schedule_timeout": "3"})
        alice = sign_in(hub, "alice", "alice-pw")
        self.rig.fake.set_kubelet(rules=[{"namespace": "jhub", "name_regex": "jupyter-alice", "unschedulable": True}])
        start(hub, alice)
        msg = server_error(hub, alice)
        self.assertIn("was not scheduled within 3 s", msg)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"), "a pod that was given up on is deleted")

        self.rig.fake.set_kubelet(rules=[{"namespace": "jhub", "name_regex": "jupyter-alice", "image_pull_error": True}])
        start(hub, alice)
        msg = server_error(hub, alice)
        self.assertIn("ImagePullBackOff", msg)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))

        # Running, then evicted: stopped at once, with the reason for its owner.
        self.rig.fake.set_kubelet(rules=[])
        spawn_and_wait(hub, alice)
        self.rig.fake.pod_fault("jhub", "jupyter-alice", "evict")
        deadline = time.time() + 15
        while time.time() < deadline and "evicted" not in hub.log():
            time.sleep(0.2)
        self.assertIn("the pod was evicted", hub.log())
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))
        self.assert_role_only()


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class KubeSpawnerReload(KubeHubTest):
    def test_a_reload_changes_the_next_pod_and_leaves_the_running_one(self):
        hub = self.hub({"KubeSpawner.mem_limit": "512Mi"})
        alice = sign_in(hub, "alice", "alice-pw")
        spawn_and_wait(hub, alice)
        before = self.rig.pod("jupyter-alice")
        self.assertEqual(before["spec"]["containers"][0]["resources"]["limits"]["memory"], "512Mi")

        # A new image and memory limit, and a namespace (which the pod watch cannot follow).
        options = dict(BASE_OPTIONS, **{"KubeSpawner.image": "quay.io/jupyterhub/k8s-singleuser-sample:4.4.1",
                                        "KubeSpawner.mem_limit": "1Gi", "KubeSpawner.namespace": "elsewhere"})
        with open(os.path.join(self.workdir, "nbhub.toml"), "w") as f:
            f.write(hub_toml(self.idp.issuer, options, "", self.hub_port))
        hub.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 15
        while time.time() < deadline and "config reload (SIGHUP): changed" not in hub.log():
            time.sleep(0.1)
        log = hub_log(hub)
        self.assertIn("config reload (SIGHUP): changed spawner.options", log)
        self.assertRegex(log, r"read at start-up only; their running values stay until nbhub restarts: "
                              r"KubeSpawner\.namespace")

        bob = sign_in(hub, "bob", "bob-pw")
        spawn_and_wait(hub, bob)
        pod = self.rig.pod("jupyter-bob")  # in jhub: the namespace waits for a restart
        self.assertIsNotNone(pod, "bob's pod should be in the running namespace")
        main = pod["spec"]["containers"][0]
        self.assertEqual(main["image"], "quay.io/jupyterhub/k8s-singleuser-sample:4.4.1")
        self.assertEqual(main["resources"]["limits"]["memory"], "1Gi")
        # alice's pod is the same pod, unchanged, and still serves.
        after = self.rig.pod("jupyter-alice")
        self.assertEqual(after["metadata"]["uid"], before["metadata"]["uid"])
        self.assertEqual(after["spec"]["containers"][0]["image"], before["spec"]["containers"][0]["image"])
        r = follow(alice, hub, alice.get(hub.url("/user/alice/tree")))  # the server's OAuth dance
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertEqual(stop(hub, alice), 303)
        self.assertEqual(stop(hub, bob), 303)
        self.assertTrue(self.rig.wait_pod_gone("jupyter-alice"))
        self.assertTrue(self.rig.wait_pod_gone("jupyter-bob"))
        self.assert_role_only()


if __name__ == "__main__":
    unittest.main()
