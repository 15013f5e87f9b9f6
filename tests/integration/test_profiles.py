"""Issue 23 item 5: profile lists (KubeSpawner's schema) for the local spawner.

A jupyterhub_config.py gives c.LocalProcessSpawner.profile_list two profiles with different
environments and default URLs; "Lab" has an option with two choices and a free-text
(unlisted) choice checked by a regular expression. Users sign in with the dummy
authenticator; their servers are Debian's jupyterhub-singleuser, whose environment is read
from /proc. Checked:

* GET /hub/spawn shows the form (radio per profile, select per option); the POST starts the
  chosen profile: its environment, its default_url (JUPYTERHUB_DEFAULT_URL), the choice's env;
* after a stop the form pre-selects what the user chose last (KubeSpawner 7.1), also after a
  hub restart, and an adopted server keeps its display_name and user_options (migration 9);
* the REST API takes the same user_options ({"profile": slug, "<option>": choice,
  "<option>--unlisted-choice": text}) and answers 400, saying what is wrong, for an unknown
  profile, an unknown choice and a free-text value the regular expression refuses;
* an override the local spawner cannot apply (mem_limit) stops start-up naming the entry;
* with the Docker spawner (the private dockerd of test_docker_spawner.py; skipped with its
  reason where dockerd cannot run), a profile's image-independent overrides reach the
  container: memory and CPU limits, an added volume, its environment and default URL.
"""
import json
import os
import re
import shutil
import tempfile
import time
import unittest
import urllib.parse

from harness.browserless import Client, parse_form
from harness.hub import Hub, run_nbhub

SINGLEUSER = shutil.which("jupyterhub-singleuser")
ADMIN = "profiles-admin-" + os.urandom(8).hex()

CONFIG = f'''\
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.services = [{{"name": "admin-svc", "api_token": "{ADMIN}", "admin": True}}]
c.Spawner.environment = {{"BASE": "kept"}}
flavors = {{}}
for name in ["a", "b"]:
    flavors[name] = {{"display_name": "Flavor " + name.upper(), "kubespawner_override": {{"environment": {{"FLAVOR": name}}}}}}
c.LocalProcessSpawner.profile_list = [
    {{"display_name": "Classic notebook", "slug": "classic", "default": True,
      "description": "The tree view",
      "kubespawner_override": {{"default_url": "/tree", "environment": {{"PROFILE": "classic"}}}}}},
    {{"display_name": "Lab", "slug": "lab",
      "spawner_override": {{"default_url": "/lab", "environment": {{"PROFILE": "lab"}}}},
      "profile_options": {{"flavor": {{"display_name": "Flavor", "choices": flavors,
          "unlisted_choice": {{"enabled": True, "display_name": "Your flavor",
                              "validation_regex": "^[a-z]+$", "validation_message": "lower-case letters only",
                              "kubespawner_override": {{"environment": {{"FLAVOR": "custom-{{value}}"}}}}}}}}}}}},
]
'''


def server_processes(workdir, user):
    """(pid, environment) of `user`'s server processes started under `workdir` (HOME is there)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        env = dict(kv.split("=", 1) for kv in raw.decode(errors="replace").split("\0") if "=" in kv)
        if env.get("JUPYTERHUB_USER") == user and env.get("HOME", "").startswith(workdir):
            yield int(pid), env


def server_environment(workdir, user, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, env in server_processes(workdir, user):
            return env
        time.sleep(0.2)
    return None


def api(hub, method, path, body=None):
    r = Client().request(method, hub.url("/hub/api" + path), json_body=body,
                         headers={"Authorization": f"token {ADMIN}"})
    return r.status, (r.json() if r.body and r.headers.get("Content-Type", "").startswith("application/json") else r.text)


def sign_in(hub, username):
    c = Client()
    r = c.get(hub.url("/hub/login"))
    form = parse_form(r.text)
    fields = dict(form["inputs"], username=username, password="x")
    r = c.post(urllib.parse.urljoin(hub.url("/hub/login"), form["action"]), data=fields)
    assert r.status in (302, 303), (r.status, r.text[:500])
    return c


def wait_server(hub, user, running=True, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, model = api(hub, "GET", f"/users/{user}")
        if status == 200 and bool(model.get("server")) == running and not model.get("pending"):
            return model
        time.sleep(0.3)
    raise AssertionError(f"{user}'s server did not become {'ready' if running else 'stopped'}:\n" + hub.log()[-3000:])


def stop(hub, user):
    status, _ = api(hub, "DELETE", f"/users/{user}/server")
    assert status in (202, 204), status
    wait_server(hub, user, running=False)


def radio_checked(html):
    m = re.search(r'<input type="radio" name="profile" id="[^"]+" value="([^"]+)" checked>', html)
    return m.group(1) if m else None


def selected(html, field):
    m = re.search(rf'<select name="{re.escape(field)}"[^>]*>(.*?)</select>', html, re.S)
    assert m, f"no select {field}"
    s = re.search(r'<option value="([^"]+)" selected>', m.group(1))
    return s.group(1) if s else None


@unittest.skipUnless(SINGLEUSER, "jupyterhub-singleuser is not installed")
class LocalProfiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="nbhub-profiles-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.hub = Hub(CONFIG, config_name="jupyterhub_config.py", workdir=cls.workdir,
                      env={"NBHUB_DB_URL": "sqlite:///nbhub.sqlite"})
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)
        cls.addClassCleanup(cls.hub.kill_servers)

    def test_form_start_and_pre_selection(self):
        c = sign_in(self.hub, "alice")
        page = c.get(self.hub.url("/hub/spawn"))
        self.assertEqual(page.status, 200, "with a profile list, GET shows the form instead of starting")
        self.assertEqual(radio_checked(page.text), "classic")
        self.assertEqual(selected(page.text, "profile-option-lab--flavor"), "a")
        self.assertIn('name="profile-option-lab--flavor--unlisted-choice"', page.text)
        form = parse_form(page.text)
        r = c.post(self.hub.url("/hub/spawn"), data={"_xsrf": form["inputs"]["_xsrf"], "profile": "lab",
                                                     "profile-option-lab--flavor": "b",
                                                     "profile-option-lab--flavor--unlisted-choice": ""})
        self.assertIn(r.status, (302, 303), r.text[:500])
        wait_server(self.hub, "alice")
        env = server_environment(self.workdir, "alice")
        self.assertIsNotNone(env, "alice's server process not found")
        self.assertEqual((env["PROFILE"], env["FLAVOR"], env["BASE"]), ("lab", "b", "kept"))
        self.assertEqual(env["JUPYTERHUB_DEFAULT_URL"], "/lab")
        stop(self.hub, "alice")

        # The form remembers: Lab with flavor b.
        page = c.get(self.hub.url("/hub/spawn"))
        self.assertEqual(page.status, 200)
        self.assertEqual(radio_checked(page.text), "lab")
        self.assertEqual(selected(page.text, "profile-option-lab--flavor"), "b")

        # A posted choice that does not exist: 400 with what was wrong, nothing starts.
        form = parse_form(page.text)
        r = c.post(self.hub.url("/hub/spawn"), data={"_xsrf": form["inputs"]["_xsrf"], "profile": "lab",
                                                     "profile-option-lab--flavor": "zzz"})
        self.assertEqual(r.status, 400)
        self.assertIn("&quot;zzz&quot; is not a choice of Flavor in the profile Lab", r.text)

    def test_rest_user_options_and_errors(self):
        api(self.hub, "POST", "/users", {"usernames": ["bob", "carol"]})
        status, body = api(self.hub, "POST", "/users/bob/server", {"profile": "classic"})
        self.assertIn(status, (201, 202), body)
        wait_server(self.hub, "bob")
        env = server_environment(self.workdir, "bob")
        self.assertEqual((env["PROFILE"], env["JUPYTERHUB_DEFAULT_URL"]), ("classic", "/tree"))
        self.assertNotIn("FLAVOR", env)
        stop(self.hub, "bob")

        for options, message in [
                ({"profile": "gpu"}, 'There is no server profile \\"gpu\\" (the profiles are classic, lab).'),
                ({"profile": "lab", "flavor": "zzz"}, '\\"zzz\\" is not a choice of Flavor in the profile Lab'),
                ({"profile": "lab", "flavor--unlisted-choice": "Bad!"}, "lower-case letters only"),
                ({"profile": ["lab"]}, "user_options: profile must be a string.")]:
            status, body = api(self.hub, "POST", "/users/carol/server", options)
            self.assertEqual(status, 400, (options, body))
            self.assertIn(message.replace('\\"', '"'), body["message"])
        self.assertFalse(api(self.hub, "GET", "/users/carol")[1].get("pending"))

        status, body = api(self.hub, "POST", "/users/carol/server", {"profile": "lab", "flavor--unlisted-choice": "mint"})
        self.assertIn(status, (201, 202), body)
        wait_server(self.hub, "carol")
        env = server_environment(self.workdir, "carol")
        self.assertEqual((env["PROFILE"], env["FLAVOR"]), ("lab", "custom-mint"))
        stop(self.hub, "carol")


def kill_servers_of(workdir, user):
    """Ends `user`'s servers under `workdir` (each its process group) whoever their parent is."""
    for pid, _ in list(server_processes(workdir, user)):
        try:
            os.killpg(pid, 9)
        except OSError:
            pass


@unittest.skipUnless(SINGLEUSER, "jupyterhub-singleuser is not installed")
class ChoicesAcrossRestarts(unittest.TestCase):
    """Migration 9: what a server was last started with is in the store, so a restarted hub
    pre-selects it in the form and shows a running server's display_name and user_options."""

    def test_last_choices_and_display_names_survive_a_restart(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-choices-")
        self.addCleanup(shutil.rmtree, workdir, True)
        config = CONFIG + "c.JupyterHub.allow_named_servers = True\n"
        hub = Hub(config, config_name="jupyterhub_config.py", workdir=workdir,
                  env={"NBHUB_DB_URL": "sqlite:///nbhub.sqlite"})
        hub.start()
        self.addCleanup(hub.stop, False)
        # The named server outlives the first hub: its processes are no longer that hub's
        # children, so they are found by their environment to be killed at the end.
        self.addCleanup(kill_servers_of, workdir, "dave")
        api(hub, "POST", "/users", {"usernames": ["dave"]})

        status, body = api(hub, "POST", "/users/dave/server", {"profile": "lab", "flavor": "b"})
        self.assertIn(status, (201, 202), body)
        wait_server(hub, "dave")
        stop(hub, "dave")
        status, body = api(hub, "PUT", "/users/dave/servers/defined", {"display_name": "As defined"})
        self.assertEqual(status, 201, body)
        status, body = api(hub, "POST", "/users/dave/servers/defined",
                           {"display_name": "Started as", "user_options": {"profile": "classic"}})
        self.assertIn(status, (201, 202), body)
        status, body = api(hub, "POST", "/users/dave/servers/gpu",
                           {"display_name": "My GPU ✓", "user_options": {"profile": "lab", "flavor": "a"}})
        self.assertIn(status, (201, 202), body)
        for name in ("defined", "gpu"):
            deadline = time.time() + 60
            while api(hub, "GET", f"/users/dave/servers/{name}")[1].get("ready") is not True:
                self.assertLess(time.time(), deadline, hub.log()[-3000:])
                time.sleep(0.3)
        status, _ = api(hub, "DELETE", "/users/dave/servers/defined")
        self.assertIn(status, (202, 204))
        deadline = time.time() + 30
        while not api(hub, "GET", "/users/dave/servers/defined")[1].get("stopped"):
            self.assertLess(time.time(), deadline, hub.log()[-3000:])
            time.sleep(0.3)

        hub.stop(cleanup=False)
        hub.start()

        # The form pre-selects the last choice of the default server: Lab, flavor b.
        page = sign_in(hub, "dave").get(hub.url("/hub/spawn"))
        self.assertEqual(page.status, 200)
        self.assertEqual(radio_checked(page.text), "lab")
        self.assertEqual(selected(page.text, "profile-option-lab--flavor"), "b")
        # The running server, adopted, still shows what it was started with.
        status, gpu = api(hub, "GET", "/users/dave/servers/gpu")
        self.assertEqual(status, 200, gpu)
        self.assertEqual((gpu["ready"], gpu["display_name"], gpu["user_options"]),
                         (True, "My GPU ✓", {"profile": "lab", "flavor": "a"}), hub.log()[-3000:])
        # The stopped defined server shows the label and options of its last start.
        status, users = api(hub, "GET", "/users?include_stopped_servers=1")
        defined = next(u for u in users if u["name"] == "dave")["servers"]["defined"]
        self.assertEqual((defined["stopped"], defined["display_name"], defined["user_options"]),
                         (True, "Started as", {"profile": "classic"}))
        status, _ = api(hub, "DELETE", "/users/dave/servers/gpu")
        self.assertIn(status, (202, 204))


DOCKER_PROFILES = [
    {"display_name": "Small", "slug": "small",
     "spawner_override": {"mem_limit": "512M", "environment": {"SIZE": "small"}}},
    {"display_name": "Big", "slug": "big",
     "spawner_override": {"mem_limit": "1G", "cpu_limit": 1.5, "default_url": "/lab",
                          "environment": {"SIZE": "big"}, "volumes": {"DATA_DIR": {"bind": "/data", "mode": "ro"}}}},
]


def docker_config(data_dir):
    from test_docker_spawner import DOCKER_SPAWNER
    profiles = json.dumps(DOCKER_PROFILES).replace("DATA_DIR", data_dir)
    return f"""ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"

[[services]]
name = "admin-svc"
api_token = "{ADMIN}"
admin = true
{DOCKER_SPAWNER}"DockerSpawner.profile_list" = '{profiles}'

[auth]
[[auth.providers]]
name = "null"
kind = "null"
"""


@unittest.skipUnless(SINGLEUSER, "jupyterhub-singleuser is not installed")
class DockerProfiles(unittest.TestCase):
    def test_a_profile_sets_the_containers_limits_volume_and_environment(self):
        from test_docker_spawner import DockerDaemon
        docker = DockerDaemon()
        self.addCleanup(docker.close)
        if docker.reason:
            raise unittest.SkipTest("Docker cannot run here: " + docker.reason)
        workdir = tempfile.mkdtemp(prefix="nbhub-docker-profiles-")
        self.addCleanup(shutil.rmtree, workdir, True)
        data = tempfile.mkdtemp(prefix="nbhub-docker-data-")
        self.addCleanup(shutil.rmtree, data, True)
        with Hub(docker_config(data), env={"DOCKER_HOST": "unix://" + docker.socket}, workdir=workdir) as hub:
            api(hub, "POST", "/users", {"usernames": ["dora"]})
            status, body = api(hub, "POST", "/users/dora/server", {"profile": "huge"})
            self.assertEqual(status, 400, body)
            self.assertIn('There is no server profile "huge"', body["message"])
            status, body = api(hub, "POST", "/users/dora/server", {"profile": "big"})
            self.assertIn(status, (201, 202), body)
            wait_server(hub, "dora", timeout=90)
            r = docker.cli("inspect", "jupyter-dora")
            self.assertEqual(r.returncode, 0, r.stderr)
            info = json.loads(r.stdout)[0]
            self.assertEqual(info["HostConfig"]["Memory"], 1 << 30)
            self.assertEqual(info["HostConfig"]["NanoCpus"], 1_500_000_000)
            self.assertIn(f"{data}:/data:ro", info["HostConfig"]["Binds"])
            self.assertIn("/usr:/usr:ro", info["HostConfig"]["Binds"])  # the configured ones stay
            env = dict(e.split("=", 1) for e in info["Config"]["Env"])
            self.assertEqual((env["SIZE"], env["JUPYTERHUB_DEFAULT_URL"], env["HOME"]), ("big", "/lab", "/tmp"))
            stop(hub, "dora")


class ProfileConfigErrors(unittest.TestCase):
    def test_an_override_the_local_spawner_cannot_apply_stops_startup(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-profiles-bad-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with open(os.path.join(workdir, "jupyterhub_config.py"), "w") as f:
            f.write('c.JupyterHub.port = 0\nc.JupyterHub.hub_bind_url = "http://127.0.0.1:0"\n'
                    'c.LocalProcessSpawner.profile_list = '
                    + json.dumps([{"display_name": "Big", "kubespawner_override": {"mem_limit": "8G"}}]).replace("true", "True") + "\n")
        r = run_nbhub(["-f", "jupyterhub_config.py"], cwd=workdir)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("LocalProcessSpawner.profile_list[0].kubespawner_override.mem_limit: the local spawner runs "
                      "processes on this machine, without images or resource limits", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
