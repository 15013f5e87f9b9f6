"""Issue 7 item 4: `nbhub import-jupyterhub-db` on a database made by Debian's JupyterHub 3.0
(through jupyterhub.orm with /usr/bin/python3, so users, groups, roles, a service and tokens
carry JupyterHub's own hashes), then nbhub serves with the imported tokens."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from harness.hub import Hub, run_nbhub

SYSTEM_PYTHON = "/usr/bin/python3"

MAKE_DB = r'''
import sys, json
from jupyterhub import orm
db = orm.new_session_factory("sqlite:///" + sys.argv[1])()
db.add(orm.OAuthClient(identifier="jupyterhub")); db.commit()
alice = orm.User(name="alice", admin=True); bob = orm.User(name="bob")
db.add_all([alice, bob]); db.commit()
g = orm.Group(name="staff"); g.users.append(bob); db.add(g)
svc = orm.Service(name="announcer"); db.add(svc); db.commit()
role = orm.Role(name="reader", scopes=["read:users"]); role.users.append(bob); db.add(role)
db.commit()
out = {"alice": alice.new_api_token(note="imported"), "bob": bob.new_api_token(),
       "service": svc.new_api_token()}
db.commit()
print(json.dumps(out))
'''

CONFIG = """
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
"""


def have_jupyterhub():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import jupyterhub.orm"], capture_output=True)
    return r.returncode == 0


@unittest.skipUnless(have_jupyterhub(), "Debian's jupyterhub is not importable by /usr/bin/python3")
class ImportJupyterHubDb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nbhub-import-")
        cls.jh_db = os.path.join(cls.dir, "jupyterhub.sqlite")
        made = subprocess.run([SYSTEM_PYTHON, "-c", MAKE_DB, cls.jh_db], capture_output=True,
                              text=True, timeout=120)
        if made.returncode != 0:
            raise RuntimeError("making the JupyterHub database failed:\n" + made.stderr)
        cls.tokens = json.loads(made.stdout.strip().splitlines()[-1])
        with open(os.path.join(cls.dir, "nbhub.toml"), "w") as f:
            f.write(CONFIG)
        cls.first = run_nbhub(["-f", "nbhub.toml", "import-jupyterhub-db", cls.jh_db], cwd=cls.dir)
        cls.second = run_nbhub(["-f", "nbhub.toml", "import-jupyterhub-db", cls.jh_db], cwd=cls.dir)
        cls.hub = Hub(CONFIG, workdir=cls.dir)
        cls.hub.start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop(cleanup=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def get(self, path, token):
        req = urllib.request.Request(self.hub.url(path), headers={"Authorization": "token " + token})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    def test_import_reports_counts_and_warnings(self):
        self.assertEqual(self.first.returncode, 0, self.first.stderr)
        self.assertIn("2 users (0 already present)", self.first.stdout)
        self.assertIn("3 API tokens (0 already present)", self.first.stdout)
        # Nothing nbhub's store does not keep is dropped silently.
        self.assertIn("role 'reader'", self.first.stderr)
        self.assertIn("service 'announcer'", self.first.stderr)
        for token in self.tokens.values():
            self.assertNotIn(token, self.first.stdout + self.first.stderr)

    def test_rerun_is_idempotent(self):
        self.assertEqual(self.second.returncode, 0, self.second.stderr)
        self.assertIn("0 users (2 already present)", self.second.stdout)
        self.assertIn("0 API tokens (3 already present)", self.second.stdout)

    def test_imported_user_tokens_work(self):
        status, me = self.get("/hub/api/user", self.tokens["alice"])
        self.assertEqual(status, 200)
        self.assertEqual(me["name"], "alice")
        self.assertTrue(me["admin"])
        status, me = self.get("/hub/api/user", self.tokens["bob"])
        self.assertEqual(status, 200)
        self.assertEqual(me["name"], "bob")
        self.assertFalse(me["admin"])

    def test_users_admin_and_groups_visible(self):
        status, users = self.get("/hub/api/users", self.tokens["alice"])
        self.assertEqual(status, 200)
        by_name = {u["name"]: u for u in users}
        self.assertEqual(set(by_name), {"alice", "bob"})
        self.assertTrue(by_name["alice"]["admin"])
        self.assertIn("staff", by_name["bob"]["groups"])

    def test_wrong_token_is_refused(self):
        good = self.tokens["alice"]
        wrong = good[:4] + ("0" if good[4] != "0" else "1") + good[5:]
        status, _ = self.get("/hub/api/user", wrong)
        self.assertIn(status, (401, 403))


if __name__ == "__main__":
    unittest.main()
