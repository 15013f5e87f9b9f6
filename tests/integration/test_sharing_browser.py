"""Issue 23: sharing and profile choice in a real browser (Debian's chromium via playwright-core),
with the test IdP and the local spawner running Debian's jupyterhub-singleuser.

* tests/browser/sharing.mjs: alice shares her running server from the home page with bob by
  name; bob opens it from his home page and uses its API; alice revokes and bob's next request
  is refused (403 page); an invitation link accepted by carol on /hub/accept-share.
* tests/browser/profiles.mjs: /hub/spawn shows the profile form of a profile_list; choosing a
  profile and an option (also a free-text choice) starts the server with the profile's
  environment and default URL, read back from a kernel in that server; the next visit to
  /hub/spawn pre-selects the last choice. Run with the local spawner and with the Docker
  spawner (a private dockerd; skipped with its reason where dockerd cannot run).

Screenshots land in $NBHUB_ARTIFACTS (or a temp dir, removed after a pass).
"""
import json
import shutil
import unittest

from harness.browser import oidc_provider, run_script, skip_unless_browser

SINGLEUSER = shutil.which("jupyterhub-singleuser")


def sharing_config(issuer, port):
    # alice may share by name (as test_sharing.py's "sharer" role); bob and carol hold `self`.
    return f"""
ip = "127.0.0.1"
port = {port}
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
[auth]
allowed_users = ["alice", "bob", "carol"]
[[load_roles]]
name = "sharer"
scopes = ["shares!user", "read:users:name", "read:groups:name"]
users = ["alice"]
""" + oidc_provider(issuer)


# The profile_list of test_profiles.py: two profiles with their own environment and default URL,
# the second with an option of two choices and a free-text choice checked by a regular expression.
PROFILES = [
    {"display_name": "Classic notebook", "slug": "classic", "default": True, "description": "The tree view",
     "kubespawner_override": {"default_url": "/tree", "environment": {"PROFILE": "classic"}}},
    {"display_name": "Flavoured", "slug": "flavoured", "description": "Pick a flavour",
     "spawner_override": {"default_url": "/tree?flavoured", "environment": {"PROFILE": "flavoured"}},
     "profile_options": {"flavor": {
         "display_name": "Flavor",
         "choices": {"a": {"display_name": "Flavor A", "kubespawner_override": {"environment": {"FLAVOR": "a"}}},
                     "b": {"display_name": "Flavor B", "kubespawner_override": {"environment": {"FLAVOR": "b"}}}},
         "unlisted_choice": {"enabled": True, "display_name": "Your flavor", "validation_regex": "^[a-z]+$",
                             "validation_message": "lower-case letters only",
                             "kubespawner_override": {"environment": {"FLAVOR": "custom-{value}"}}}}}},
]


LOCAL_SPAWNER = """
[spawner]
environment = { BASE = "kept" }
[spawner.options]
"""


def docker_spawner():
    """test_docker_spawner's Docker spawner (the host's /usr and /etc in a minimal image, host
    networking), with the local spawner's BASE variable."""
    from test_docker_spawner import DOCKER_SPAWNER
    home = 'environment = { HOME = "/tmp" }'
    assert home in DOCKER_SPAWNER
    return DOCKER_SPAWNER.replace(home, 'environment = { HOME = "/tmp", BASE = "kept" }')


def profiles_config(issuer, port, spawner=LOCAL_SPAWNER):
    return f"""
ip = "127.0.0.1"
port = {port}
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
[auth]
allowed_users = ["alice"]
""" + spawner + f"""\
"Spawner.profile_list" = {json.dumps(json.dumps(PROFILES))}
""" + oidc_provider(issuer)


@skip_unless_browser
@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class SharingBrowserTest(unittest.TestCase):
    def test_share_open_revoke_and_accept(self):
        run_script(self, "sharing.mjs", sharing_config, "SHARING")

    def test_profile_choice(self):
        run_script(self, "profiles.mjs", profiles_config, "PROFILES")

    def test_profile_choice_with_the_docker_spawner(self):
        # The same journey with each server in a container of the private dockerd
        # (harness/docker_daemon.py: --bridge=none, host networking).
        from test_docker_spawner import DockerDaemon
        docker = DockerDaemon()
        self.addCleanup(docker.close)
        if docker.reason:
            raise unittest.SkipTest("Docker cannot run here: " + docker.reason)
        spawner = docker_spawner()
        run_script(self, "profiles.mjs", lambda issuer, port: profiles_config(issuer, port, spawner), "PROFILES",
                   hub_env={"DOCKER_HOST": "unix://" + docker.socket}, label="profiles-docker")


if __name__ == "__main__":
    unittest.main()
