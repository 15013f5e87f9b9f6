"""Issue 22: a jupyterhub_config.py that is a Python program, run by Debian's python3.

The configuration builds values in a loop and with if/else, and gives functions to
Spawner.auth_state_hook and Spawner.pre_spawn_hook. Users sign in at the real test IdP;
their servers are real jupyterhub-singleuser processes from the local spawner, whose
environment is read from /proc:

* usernames come from a callable username_claim (OAuthenticator 16): "u-" + the IdP's name;
* alice's server gets UPSTREAM_TOKEN, the access token from her auth_state (the Cognito
  guide's "tokens into the notebook" step), and what the hooks saw of her (groups, loop value);
* bob's hook raises: his spawn fails with the hook's message and line;
* carol's hook sleeps past python.hook_timeout_seconds: her spawn fails saying so, and alice's
  spawn during that time goes through;
* the hook helper killed mid-session comes back for the next spawn;
* an exception in the file stops start-up with exit 2 and its file:line.
"""
import os
import re
import shutil
import signal
import tempfile
import time
import unittest
from pathlib import Path

from harness.hub import Hub, run_nbhub
from harness.idp import TestIdp, decode_jwt
from harness.session import sign_in, wait_ready

SINGLEUSER = shutil.which("jupyterhub-singleuser")
PYTHON = shutil.which("python3")
CRYPT_KEY = "7a" * 32
HOOK_TIMEOUT = 4

CONFIG = '''\
import asyncio
import os
from oauthenticator.generic import GenericOAuthenticator

c = get_config()
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 0
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = GenericOAuthenticator
c.GenericOAuthenticator.client_id = "nbhub-test"
c.GenericOAuthenticator.client_secret = "nbhub-test-secret"
for endpoint, path in [("authorize_url", "/auth"), ("token_url", "/token"), ("userdata_url", "/me")]:
    setattr(c.GenericOAuthenticator, endpoint, "ISSUER" + path)
c.GenericOAuthenticator.scope = ["openid", "profile", "email"]
c.GenericOAuthenticator.username_claim = lambda user_info: "u-" + user_info["username"]
c.Authenticator.enable_auth_state = True
c.Authenticator.allowed_users = {"u-" + name for name in ["alice", "bob", "carol"]}
if os.environ.get("HUB_TEST_TIER") == "big":
    c.Spawner.environment = {"TIER": "big"}
else:
    c.Spawner.environment = {"TIER": "small"}


async def copy_token(spawner, auth_state):
    # Which auth_state keys the hook saw (never their values: those are tokens).
    if auth_state:
        spawner.environment["AUTH_STATE_KEYS"] = ",".join(sorted(k for k in auth_state if k != "access_token"))


async def pre_spawn(spawner):
    name = spawner.user.name
    if name == "u-bob":
        raise RuntimeError("bob may not start a server today")
    if name == "u-carol":
        await asyncio.sleep(60)
    auth_state = await spawner.user.get_auth_state()
    spawner.environment["UPSTREAM_TOKEN"] = auth_state["access_token"]
    spawner.environment["HOOK_SAW"] = f"{name} admin={spawner.user.admin} tier={spawner.environment['TIER']}"


c.Spawner.auth_state_hook = copy_token
c.Spawner.pre_spawn_hook = pre_spawn
'''


def server_environment(workdir, user):
    """The environment of `user`'s jupyterhub-singleuser started by the hub in `workdir`."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        env = dict(kv.split("=", 1) for kv in raw.decode(errors="replace").split("\0") if "=" in kv)
        if env.get("JUPYTERHUB_USER") != user:
            continue
        if not (env.get("HOME", "").startswith(workdir) or os.path.realpath(f"/proc/{pid}/cwd").startswith(workdir)):
            continue
        return env
    return None


def spawn_failure(hub, client, user, timeout=30):
    """The text of the spawn-pending page once it reports failure (500)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = client.get(hub.url(f"/hub/spawn-pending/{user}"))
        if r.status == 500:
            return r.text
        time.sleep(0.2)
    raise AssertionError(f"{user}'s spawn did not fail:\n" + hub.log()[-3000:])


def stop_server(hub, client):
    r = client.get(hub.url("/hub/home"))
    m = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
    if m:
        client.post(hub.url("/hub/home/stop"), data={"_xsrf": m.group(1)})
    deadline = time.time() + 30
    while time.time() < deadline and client.get(hub.url("/hub/api/user")).json().get("server"):
        time.sleep(0.2)


def wait_log(hub, pattern, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, hub.log())
        if m:
            return m
        time.sleep(0.1)
    raise AssertionError(f"no log line like {pattern!r}:\n" + hub.log()[-3000:])


@unittest.skipUnless(PYTHON, "python3 is not installed")
class PythonConfigErrors(unittest.TestCase):
    def test_an_exception_stops_startup_with_its_line(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-pyerr-")
        self.addCleanup(shutil.rmtree, workdir, True)
        Path(workdir, "jupyterhub_config.py").write_text(
            "c.JupyterHub.port = 0\nsizes = {'small': 1}\nfor s in ['small', 'huge']:\n    c.Spawner.mem = sizes[s]\n")
        r = run_nbhub(["-f", "jupyterhub_config.py"], cwd=workdir)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("jupyterhub_config.py:4: KeyError: 'huge'", r.stdout + r.stderr)


@unittest.skipUnless(SINGLEUSER and PYTHON, "needs Debian's jupyterhub-singleuser and python3")
class PythonHooks(unittest.TestCase):
    def test_hooks_put_the_token_in_the_environment_and_fail_only_their_spawn(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-pyhooks-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with TestIdp("generic") as idp:
            hub = Hub(CONFIG.replace("ISSUER", idp.issuer), config_name="jupyterhub_config.py", workdir=workdir,
                      env={"NBHUB_CRYPT_KEY": CRYPT_KEY, "NBHUB_DB_URL": "sqlite:///nbhub.sqlite",
                           "NBHUB_PYTHON_HOOK_TIMEOUT_SECONDS": str(HOOK_TIMEOUT), "HUB_TEST_TIER": "big",
                           "NBHUB_LOG_LEVEL": "debug"})
            with hub:
                self.addCleanup(hub.kill_servers)
                self.assertIn("python hooks: GenericOAuthenticator.username_claim, Spawner.auth_state_hook, "
                              "Spawner.pre_spawn_hook", hub.log())

                # alice: the hooks' environment reaches the real server.
                alice = sign_in(hub, "alice", "alice-pw", provider="default")
                self.assertEqual(alice.get(hub.url("/hub/spawn")).status, 302)
                wait_ready(alice, hub)
                env = server_environment(workdir, "u-alice")
                self.assertIsNotNone(env, "alice's server process not found")
                self.assertEqual(decode_jwt(env["UPSTREAM_TOKEN"])[1].get("sub") is not None, True)
                self.assertEqual(env["HOOK_SAW"], "u-alice admin=False tier=big")
                self.assertEqual(env["TIER"], "big")
                self.assertIn("refresh_token", env["AUTH_STATE_KEYS"].split(","))
                first = wait_log(hub, r"python hook helper started \(pid (\d+), start 1\)")
                self.assertNotIn(env["UPSTREAM_TOKEN"], hub.log(), "a token reached the log")

                # bob: his hook raises; the spawn fails with its message and line.
                bob = sign_in(hub, "bob", "bob-pw", provider="default")
                bob.get(hub.url("/hub/spawn"))
                text = spawn_failure(hub, bob, "u-bob")
                self.assertIn("bob may not start a server today", text)
                self.assertIn("jupyterhub_config.py:33", text)

                # carol's hook sleeps past the timeout; alice's spawn meanwhile goes through.
                stop_server(hub, alice)
                carol = sign_in(hub, "carol", "carol-pw", provider="default")
                t0 = time.time()
                carol.get(hub.url("/hub/spawn"))
                time.sleep(0.5)
                self.assertEqual(alice.get(hub.url("/hub/spawn")).status, 302)
                wait_log(hub, r"(?s)spawn of u-alice: Python hooks ran in \d+ ms.*spawn of u-alice: Python hooks ran")
                self.assertLess(time.time() - t0, HOOK_TIMEOUT, "alice's hook waited for carol's")
                text = spawn_failure(hub, carol, "u-carol")
                self.assertIn(f"did not finish within {HOOK_TIMEOUT}", text)
                self.assertGreaterEqual(time.time() - t0, HOOK_TIMEOUT)
                wait_ready(alice, hub)

                # The helper killed mid-session: the next spawn starts a new one.
                os.kill(int(first.group(1)), signal.SIGKILL)
                wait_log(hub, rf"python hook helper \(pid {first.group(1)}\) stopped")
                stop_server(hub, alice)
                alice.get(hub.url("/hub/spawn"))
                wait_ready(alice, hub)
                wait_log(hub, r"python hook helper started \(pid \d+, start 2\)")
                self.assertEqual(server_environment(workdir, "u-alice")["HOOK_SAW"], "u-alice admin=False tier=big")
                stop_server(hub, alice)



KUBE_CONFIG = '''\
from kubespawner import KubeSpawner
from oauthenticator.generic import GenericOAuthenticator

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 0
c.JupyterHub.hub_bind_url = "http://127.0.0.1:HUB_PORT"
c.JupyterHub.db_url = "sqlite:///nbhub.sqlite"
c.JupyterHub.authenticator_class = GenericOAuthenticator
c.GenericOAuthenticator.client_id = "nbhub-test"
c.GenericOAuthenticator.client_secret = "nbhub-test-secret"
c.GenericOAuthenticator.authorize_url = "ISSUER/auth"
c.GenericOAuthenticator.token_url = "ISSUER/token"
c.GenericOAuthenticator.userdata_url = "ISSUER/me"
c.GenericOAuthenticator.scope = ["openid", "profile", "email"]
c.GenericOAuthenticator.username_claim = "username"
c.Authenticator.allowed_users = {"alice"}
c.JupyterHub.spawner_class = KubeSpawner
settings = {"namespace": "jhub", "image": "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0", "uid": 1000,
            "fs_gid": 100, "extra_labels": {"hub.jupyter.org/network-access-hub": "true"},
            "watch_stall_timeout": 5}
for trait, value in settings.items():
    setattr(c.KubeSpawner, trait, value)


def add_team_label(spawner, pod):
    pod.metadata.labels["team"] = "data-" + spawner.user.name
    pod.spec.containers[0].env.append({"name": "FROM_POD_HOOK", "value": "yes"})
    return pod


c.KubeSpawner.modify_pod_hook = add_team_label
'''


from harness.kube import KubeHubTest  # noqa: E402


@unittest.skipUnless(SINGLEUSER and PYTHON, "needs Debian's jupyterhub-singleuser and python3")
class PythonModifyPodHook(KubeHubTest):
    def test_modify_pod_hook_label_is_in_the_pod_manifest(self):
        text = KUBE_CONFIG.replace("ISSUER", self.idp.issuer).replace("HUB_PORT", str(self.hub_port))
        hub = Hub(text, config_name="jupyterhub_config.py", env=self.rig.env, workdir=self.workdir)
        hub.start()
        self.addCleanup(hub.stop, False)
        self.assertIn("python hooks: KubeSpawner.modify_pod_hook", hub.log())
        alice = sign_in(hub, "alice", "alice-pw", provider="default")
        alice.get(hub.url("/hub/spawn"))
        deadline = time.time() + 90
        while not alice.get(hub.url("/hub/api/user")).json().get("server"):
            self.assertLess(time.time(), deadline, "server not ready:\n" + hub.log()[-4000:])
            time.sleep(0.3)
        pod = self.rig.pod("jupyter-alice")
        self.assertEqual(pod["metadata"]["labels"]["team"], "data-alice")
        self.assertEqual(pod["metadata"]["labels"]["hub.jupyter.org/network-access-hub"], "true")
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        self.assertEqual(env.get("FROM_POD_HOOK"), "yes")
        stop_server(hub, alice)


if __name__ == "__main__":
    unittest.main()
