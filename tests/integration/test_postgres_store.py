"""Issue 7: nbhub on PostgreSQL end to end. A private PostgreSQL (Debian's initdb + postgres on
a unix socket in a temporary directory, removed at the end) holds the hub's state: a person
signs in, nbhub restarts, and the login session, the user and an API token are still there.

Skipped with the reason when PostgreSQL is not installed.
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness.hub import Hub
from harness.idp import TestIdp

from harness.session import sign_in


def pg_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


class Postgres:
    def __init__(self):
        self.reason = None
        self.proc = None
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="nbhub-pg-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
        if not self.bindir:
            self.reason = "PostgreSQL is not installed (Debian's postgresql; scripts/install-deps.sh)"
            return
        # PostgreSQL refuses to run as root.
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres") if _has_user("postgres") else pwd.getpwnam("nobody")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        r = self._run([f"{self.bindir}/initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "nbhub",
                       "-E", "UTF8", "--locale=C", "--no-sync"])
        if r.returncode != 0:
            self.reason = "initdb failed: " + r.stdout[-1000:]
            return
        if not self.start():
            self.reason = "postgres did not start"

    def start(self):
        """Starts the server on its data directory and port; whether it accepts connections."""
        self.proc = subprocess.Popen(
            self._wrap([f"{self.bindir}/postgres", "-D", f"{self.dir}/data", "-k", self.dir,
                        "-p", str(self.port), "-c", "listen_addresses=", "-c", "fsync=off"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.sql("SELECT 1").returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def sql(self, statement):
        """Runs one statement through psql as the superuser nbhub (CompletedProcess)."""
        return self._run([f"{self.bindir}/psql", "-h", self.dir, "-p", str(self.port), "-U", "nbhub",
                          "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", statement])

    def url(self, password="hunter2", user="nbhub"):
        # A password in the URL (trust authentication ignores it) checks that none is logged.
        return f"postgresql://{user}:{password}@/postgres?host={self.dir}&port={self.port}"

    def _wrap(self, argv):
        return (["runuser", "-u", self.user.pw_name, "--"] + argv) if self.user else argv

    def _run(self, argv):
        return subprocess.run(self._wrap(argv), capture_output=True, text=True)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, True)

    def stop(self):
        """Fast shutdown: every session is ended, as a restart or a failover does."""
        if self.proc:
            # SIGINT (fast shutdown) to postgres itself: as root, self.proc is the runuser
            # wrapper, which does not pass the signal on, and postgres would outlive the test.
            pid = self._postmaster_pid() or self.proc.pid
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                for p in {pid, self.proc.pid}:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait()
            self.proc = None

    def _postmaster_pid(self):
        try:
            with open(f"{self.dir}/data/postmaster.pid") as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def hub_config(issuer, db_url):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "{db_url}"
db_pool_size = 2
[auth]
allowed_users = ["alice"]
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""


class PostgresStoreFlow(unittest.TestCase):
    def test_login_session_and_user_survive_a_hub_restart(self):
        pg = Postgres()
        self.addCleanup(pg.close)
        if pg.reason:
            self.skipTest("PostgreSQL unavailable: " + pg.reason)
        workdir = tempfile.mkdtemp(prefix="nbhub-pgflow-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with TestIdp("generic") as idp:
            cfg = hub_config(idp.issuer, pg.url())
            hub = Hub(cfg, workdir=workdir)
            hub.start()
            try:
                alice = sign_in(hub, "alice", "alice-pw")
                model = alice.get(hub.url("/hub/api/user")).json()
                self.assertEqual(model["name"], "alice")
                self.assertIn("schema version", hub.log())
                self.assertNotIn("hunter2", hub.log())
                hub.stop(cleanup=False)

                hub = Hub(cfg, workdir=workdir)
                hub.start()
                # The session lives in PostgreSQL: the same cookie still signs alice in.
                r = alice.get(hub.url("/hub/api/user"))
                self.assertEqual(r.status, 200, r.text[:300] + hub.log()[-2000:])
                self.assertEqual(r.json()["name"], "alice")
                self.assertNotIn("hunter2", hub.log())
            finally:
                hub.stop(cleanup=False)


if __name__ == "__main__":
    unittest.main()
