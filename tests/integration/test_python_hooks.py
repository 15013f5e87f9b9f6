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


# ---- issue 22 item 2: the remaining spawner hooks, with the local spawner ------------------

SPAWN_HOOKS = '''\
import os
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.Spawner.poll_interval = 1  # the test kills a server and waits for the poll to notice
MARKS = os.environ["HOOK_MARKS"]


def profiles(spawner):
    if spawner.user.name == "broken":
        raise ValueError("no profiles for broken")
    out = [{"display_name": "Plain", "slug": "plain", "kubespawner_override": {"environment": {"P": "plain"}}}]
    if spawner.user.name.startswith("lab"):
        out.append({"display_name": "Lab for " + spawner.user.name, "slug": "lab",
                    "kubespawner_override": {"environment": {"P": "lab"}}})
    return out


def default_url(spawner):
    return "/lab" if spawner.user_options.get("profile") == "lab" else "/tree"


def pre_spawn(spawner):
    spawner.args = list(getattr(spawner, "args", [])) + ["--ServerApp.iopub_msg_rate_limit=4321"]
    spawner.mem_limit = "1G"


def post_stop(spawner):
    with open(os.path.join(MARKS, spawner.user.name + ".stopped"), "w") as f:
        f.write(f"{spawner.name or 'default'} {spawner.user_options.get('profile')}")


c.Spawner.profile_list = profiles
c.Spawner.default_url = default_url
c.Spawner.pre_spawn_hook = pre_spawn
c.Spawner.post_stop_hook = post_stop
'''

FORM_HOOKS = '''\
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.Spawner.options_form = lambda spawner: '<input name="tier" value="small"><span id="who">' + spawner.user.name + '</span>'


def from_form(formdata, spawner):
    if formdata["tier"][0] == "forbidden":
        raise ValueError("tier forbidden is not offered")
    return {"tier": formdata["tier"][0], "by": spawner.user.name}


def pre_spawn(spawner):
    spawner.environment["TIER"] = spawner.user_options["tier"] + "/" + spawner.user_options["by"]


c.Spawner.options_from_form = from_form
c.Spawner.pre_spawn_hook = pre_spawn
'''


def dummy_sign_in_response_any(hub, username):
    """The dummy authenticator's login POST for `username`, whatever its answer."""
    import urllib.parse
    from harness.browserless import Client, parse_form
    c = Client()
    form = parse_form(c.get(hub.url("/hub/login")).text)
    r = c.post(urllib.parse.urljoin(hub.url("/hub/login"), form["action"]),
               data=dict(form["inputs"], username=username, password="x"))
    r.client = c
    return r


def dummy_sign_in_response(hub, username):
    """(client, the login POST's response) for the dummy authenticator's form."""
    r = dummy_sign_in_response_any(hub, username)
    assert r.status in (302, 303), r.text[:300]
    return r.client, r


def dummy_sign_in(hub, username):
    return dummy_sign_in_response(hub, username)[0]


def post_spawn_form(hub, client, fields):
    from harness.browserless import parse_form
    page = client.get(hub.url("/hub/spawn"))
    assert page.status == 200, (page.status, page.text[:500])
    return client.post(hub.url("/hub/spawn"), data=dict(fields, _xsrf=parse_form(page.text)["inputs"]["_xsrf"]))


def server_pid(workdir, user):
    """The pid of `user`'s server process started by the hub in `workdir`, or None."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if f"JUPYTERHUB_USER={user}".encode() in raw.split(b"\0") and workdir.encode() in raw:
            return int(pid)
    return None


def server_cmdline(workdir, user):
    pid = server_pid(workdir, user)
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if pid else None
    except OSError:
        return None


HANDLER_HOOKS = '''\
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.allow_named_servers = True
c.Authenticator.admin_users = {"root"}


def landing(handler):
    user = handler.current_user
    if user is None:
        return "/hub/login?came=" + handler.request.method
    return "/hub/admin" if user.admin else "/hub/home?for=" + user.name


def named_limit(handler):
    user = handler.current_user
    if user.name == "broken":
        raise RuntimeError("no limit for broken")
    return 0 if user.admin else 1


c.JupyterHub.default_url = landing
c.JupyterHub.named_server_limit_per_user = named_limit
'''


@unittest.skipUnless(PYTHON, "python3 is not installed")
class HandlerHooks(unittest.TestCase):
    """JupyterHub.default_url and named_server_limit_per_user as functions of the handler."""

    def test_default_url_and_named_server_limit_per_request(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-handlerhooks-")
        self.addCleanup(shutil.rmtree, workdir, True)
        hub = Hub(HANDLER_HOOKS, config_name="jupyterhub_config.py", workdir=workdir,
                  env={"NBHUB_DB_URL": "sqlite:///nbhub.sqlite"})
        with hub:
            self.addCleanup(hub.kill_servers)  # should a refused start have started one after all
            from harness.browserless import Client
            visitor = Client()
            r = visitor.get(hub.url("/hub/"))
            self.assertEqual((r.status, r.headers["Location"]), (302, "/hub/login?came=GET"))

            # After a sign-in without `next`, and at /hub/, each user lands where the function says.
            sam = dummy_sign_in_response(hub, "sam")
            self.assertEqual(sam[1].headers["Location"], "/hub/home?for=sam")
            root = dummy_sign_in_response(hub, "root")
            self.assertEqual(root[1].headers["Location"], "/hub/admin")
            self.assertEqual(sam[0].get(hub.url("/hub/")).headers["Location"], "/hub/home?for=sam")

            # The limit is the function's per caller: sam may define one named server, root more.
            def put(client, user, server):
                token = re.search(r'name="_xsrf" value="([^"]+)"', client.get(hub.url("/hub/home")).text).group(1)
                return client.request("PUT", hub.url(f"/hub/api/users/{user}/servers/{server}"), json_body={},
                                      headers={"X-XSRFToken": token})
            r = put(sam[0], "sam", "one")
            self.assertEqual(r.status, 201, r.text)
            r = put(sam[0], "sam", "two")
            self.assertEqual(r.status, 400, r.text)
            self.assertIn("User sam already has the maximum of 1 named servers", r.json()["message"])
            for name in ("one", "two", "three"):
                self.assertEqual(put(root[0], "root", name).status, 201)
            # A start through /hub/spawn asks too.
            page = sam[0].get(hub.url("/hub/spawn/sam/four"))
            self.assertEqual(page.status, 400, page.text[:300])
            self.assertIn("already has the maximum of 1 named servers", page.text)

            # A function that raises fails that request with its message and line.
            broken = dummy_sign_in_response(hub, "broken")[0]
            r = put(broken, "broken", "one")
            self.assertEqual(r.status, 500)
            line = HANDLER_HOOKS.splitlines().index('        raise RuntimeError("no limit for broken")') + 1
            self.assertIn(f"JupyterHub.named_server_limit_per_user: RuntimeError: no limit for broken "
                          f"(jupyterhub_config.py:{line})", r.json()["message"])


@unittest.skipUnless(PYTHON and SINGLEUSER, "python3 or jupyterhub-singleuser is not installed")
class SpawnerHooks(unittest.TestCase):
    def test_profile_list_default_url_traits_and_post_stop(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-spawnhooks-")
        marks = tempfile.mkdtemp(prefix="nbhub-marks-")
        self.addCleanup(shutil.rmtree, workdir, True)
        self.addCleanup(shutil.rmtree, marks, True)
        hub = Hub(SPAWN_HOOKS, config_name="jupyterhub_config.py", workdir=workdir,
                  env={"HOOK_MARKS": marks, "NBHUB_DB_URL": "sqlite:///nbhub.sqlite"})
        with hub:
            self.addCleanup(hub.kill_servers)
            self.assertIn("Spawner.post_stop_hook", hub.log())

            # The callable profile_list decides per user.
            plain = dummy_sign_in(hub, "plainuser")
            page = plain.get(hub.url("/hub/spawn"))
            self.assertEqual(page.status, 200)
            self.assertIn('value="plain"', page.text)
            self.assertNotIn('value="lab"', page.text)
            lab = dummy_sign_in(hub, "labuser")
            page = lab.get(hub.url("/hub/spawn"))
            self.assertIn("Lab for labuser", page.text)

            # labuser starts Lab: the profile's env, the callable default_url, the args the
            # pre_spawn_hook added; mem_limit is named as not applied by the local spawner.
            r = post_spawn_form(hub, lab, {"profile": "lab"})
            self.assertIn(r.status, (302, 303), r.text[:500])
            wait_ready(lab, hub)
            env = server_environment(workdir, "labuser")
            self.assertEqual((env["P"], env["JUPYTERHUB_DEFAULT_URL"]), ("lab", "/lab"))
            self.assertIn("--ServerApp.iopub_msg_rate_limit=4321", server_cmdline(workdir, "labuser"))
            wait_log(hub, r"spawn of labuser: the Python hook changed spawner traits this spawner does not "
                          r"apply per server: mem_limit")

            # A user who may not have the Lab profile cannot post it.
            r = post_spawn_form(hub, plain, {"profile": "lab"})
            self.assertEqual(r.status, 400)
            self.assertIn("There is no server profile &quot;lab&quot;", r.text)

            # post_stop_hook runs after the stop, with the stand-in's user_options.
            stop_server(hub, lab)
            mark = Path(marks, "labuser.stopped")
            deadline = time.time() + 10
            while time.time() < deadline and not mark.exists():
                time.sleep(0.1)
            self.assertEqual(mark.read_text(), "default lab")

            # A server that dies on its own: the poll finds it gone, and post_stop_hook runs
            # as after a stop (JupyterHub's user_stopped).
            mark.unlink()
            r = post_spawn_form(hub, lab, {"profile": "lab"})
            self.assertIn(r.status, (302, 303), r.text[:500])
            wait_ready(lab, hub)
            os.kill(server_pid(workdir, "labuser"), signal.SIGKILL)
            deadline = time.time() + 20
            while time.time() < deadline and not mark.exists():
                time.sleep(0.1)
            self.assertTrue(mark.exists(), hub.log()[-2000:])
            self.assertEqual(mark.read_text(), "default lab")
            wait_log(hub, r"server /user/labuser/ exited with status")

            # profile_list raising: a clear page, and a log line naming the hook and its line.
            line = SPAWN_HOOKS.splitlines().index('        raise ValueError("no profiles for broken")') + 1
            broken = dummy_sign_in(hub, "broken")
            page = broken.get(hub.url("/hub/spawn"))
            self.assertEqual(page.status, 500)
            self.assertIn(f"profile_list: ValueError: no profiles for broken (jupyterhub_config.py:{line})", page.text)
            wait_log(hub, rf"profile_list for broken: profile_list: ValueError: no profiles for broken "
                          rf"\(jupyterhub_config.py:{line}\)")

    def test_options_form_and_options_from_form(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-formhooks-")
        self.addCleanup(shutil.rmtree, workdir, True)
        hub = Hub(FORM_HOOKS, config_name="jupyterhub_config.py", workdir=workdir,
                  env={"NBHUB_DB_URL": "sqlite:///nbhub.sqlite"})
        with hub:
            self.addCleanup(hub.kill_servers)
            alice = dummy_sign_in(hub, "alice")
            page = alice.get(hub.url("/hub/spawn"))
            self.assertEqual(page.status, 200)
            self.assertIn('<span id="who">alice</span>', page.text)
            r = post_spawn_form(hub, alice, {"tier": "forbidden"})
            self.assertEqual(r.status, 400)
            self.assertIn("options_from_form: ValueError: tier forbidden is not offered", r.text)
            r = post_spawn_form(hub, alice, {"tier": "large"})
            self.assertIn(r.status, (302, 303), r.text[:500])
            wait_ready(alice, hub)
            self.assertEqual(server_environment(workdir, "alice")["TIER"], "large/alice")
            stop_server(hub, alice)


DOCKER_HOOKS = '''\
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.Spawner.cmd = ["jupyterhub-singleuser"]
c.Spawner.args = ["--allow-root"]
c.Spawner.notebook_dir = "/tmp"
c.Spawner.environment = {"HOME": "/tmp"}
c.DockerSpawner.image = "nbhub-test-singleuser:1"
c.DockerSpawner.network_name = "host"
c.DockerSpawner.remove = True
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.volumes = {"/usr": {"bind": "/usr", "mode": "ro"}, "/etc": {"bind": "/etc", "mode": "ro"}}


def sized(spawner):
    spawner.mem_limit = "768M"
    spawner.environment["HOOKED"] = spawner.user.name


c.DockerSpawner.pre_spawn_hook = sized
c.DockerSpawner.extra_create_kwargs = lambda spawner: {"working_dir": "/home/" + spawner.user.name}
'''


@unittest.skipUnless(PYTHON and SINGLEUSER, "python3 or jupyterhub-singleuser is not installed")
class DockerSpawnerHooks(unittest.TestCase):
    def test_hook_traits_and_extra_create_kwargs_reach_the_container(self):
        import json
        from test_docker_spawner import DockerDaemon
        docker = DockerDaemon()
        self.addCleanup(docker.close)
        if docker.reason:
            raise unittest.SkipTest("Docker cannot run here: " + docker.reason)
        workdir = tempfile.mkdtemp(prefix="nbhub-dockerhooks-")
        self.addCleanup(shutil.rmtree, workdir, True)
        hub = Hub(DOCKER_HOOKS, config_name="jupyterhub_config.py", workdir=workdir,
                  env={"DOCKER_HOST": "unix://" + docker.socket, "NBHUB_DB_URL": "sqlite:///nbhub.sqlite"})
        with hub:
            dora = dummy_sign_in(hub, "dora")
            self.assertEqual(dora.get(hub.url("/hub/spawn")).status, 302)
            wait_ready(dora, hub, timeout=90)
            r = docker.cli("inspect", "jupyter-dora")
            self.assertEqual(r.returncode, 0, r.stderr)
            info = json.loads(r.stdout)[0]
            self.assertEqual(info["HostConfig"]["Memory"], 768 << 20)
            self.assertEqual(info["Config"]["WorkingDir"], "/home/dora")
            self.assertIn("HOOKED=dora", info["Config"]["Env"])
            stop_server(hub, dora)


AUTH_HOOKS = '''\
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.admin_users = {"root"}


def tier(authenticator, auth_state):
    return dict(auth_state or {}, tier="gold")


def after_login(authenticator, handler, authentication):
    name = authentication["name"]
    if name == "mallory":
        return None
    if name == "crash":
        raise RuntimeError("crash may not sign in")
    if name == "alias":
        authentication["name"] = "real"
    if name == "boss" and authentication["auth_state"].get("tier") == "gold":
        authentication["admin"] = True
    return authentication


c.Authenticator.modify_auth_state_hook = tier
c.Authenticator.post_auth_hook = after_login
'''


@unittest.skipUnless(PYTHON, "python3 is not installed")
class AuthenticatorHooks(unittest.TestCase):
    def test_post_auth_hook_renames_promotes_and_refuses(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-authhooks-")
        self.addCleanup(shutil.rmtree, workdir, True)

        def attempt(hub, name):
            r = dummy_sign_in_response_any(hub, name)
            return r.client, r

        with Hub(AUTH_HOOKS, config_name="jupyterhub_config.py", workdir=workdir,
                 env={"NBHUB_DB_URL": "sqlite:///nbhub.sqlite"}) as hub:
            c, r = attempt(hub, "alias")
            self.assertIn(r.status, (302, 303), r.text[:300])
            me = c.get(hub.url("/hub/api/user")).json()
            self.assertEqual((me["name"], me["admin"]), ("real", False))
            # modify_auth_state_hook ran first: post_auth_hook saw its tier.
            c, r = attempt(hub, "boss")
            self.assertIn(r.status, (302, 303), r.text[:300])
            self.assertTrue(c.get(hub.url("/hub/api/user")).json()["admin"])
            # None refuses; an exception fails the sign-in with its message and line.
            _, r = attempt(hub, "mallory")
            self.assertEqual(r.status, 403)
            wait_log(hub, r"login refused for 'mallory' via default: post_auth_hook returned None")
            _, r = attempt(hub, "crash")
            self.assertEqual(r.status, 500)
            line = AUTH_HOOKS.splitlines().index('        raise RuntimeError("crash may not sign in")') + 1
            self.assertIn(f"post_auth_hook: RuntimeError: crash may not sign in (jupyterhub_config.py:{line})", r.text)
            wait_log(hub, rf"login of 'crash' via default failed in a Python hook: post_auth_hook: RuntimeError")


SUBCLASS_AUTH = '''\
from jupyterhub.auth import DummyAuthenticator

c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"


class TeamAuthenticator(DummyAuthenticator):
    def check_blocked_users(self, username, authentication=None):
        if username.startswith("ex-"):
            return False
        return super().check_blocked_users(username, authentication)

    async def check_allowed(self, username, authentication=None):
        if username.endswith("-team"):
            return True
        return super().check_allowed(username, authentication)

    def greeting(self):
        return "hello"


c.JupyterHub.authenticator_class = TeamAuthenticator
c.Authenticator.allowed_users = {"alice"}
c.Authenticator.blocked_users = {"bob-team"}
'''


@unittest.skipUnless(PYTHON, "python3 is not installed")
class AuthenticatorSubclassChecks(unittest.TestCase):
    """An authenticator subclass's check_allowed / check_blocked_users, deferring to super()."""

    def test_subclass_allow_checks_have_the_last_word(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-subclass-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with Hub(SUBCLASS_AUTH, config_name="jupyterhub_config.py", workdir=workdir,
                 env={"NBHUB_DB_URL": "sqlite:///nbhub.sqlite"}) as hub:
            wait_log(hub, r"TeamAuthenticator is a subclass of jupyterhub.auth.DummyAuthenticator: nbhub provides "
                          r".* and runs its check_allowed and check_blocked_users, and these methods "
                          r"TeamAuthenticator defines are not run: greeting")

            def status(name):
                return dummy_sign_in_response_any(hub, name).status

            self.assertIn(status("alice"), (302, 303))   # super(): allowed_users
            self.assertIn(status("dan-team"), (302, 303))  # the subclass admits what the rules do not
            self.assertEqual(status("carol"), 403)        # super(): no rule matched
            wait_log(hub, r"login refused for 'carol' via default: check_allowed returned False")
            self.assertEqual(status("ex-alice"), 403)     # the subclass blocks
            self.assertEqual(status("bob-team"), 403)     # super(): blocked_users, before check_allowed
            wait_log(hub, r"login refused for 'bob-team' via default: check_blocked_users returned False")
            wait_log(hub, r"login: 'dan-team' signed in via default \(the configuration's check_allowed")
