"""ACME (issue 19 point 3) against Debian's pebble on loopback, through the real binary.

AcmePebble drives the certificate with `nbhub acme` (the same AcmeManager the hub runs),
which answers HTTP-01 on tls.acme.http_port and writes what it serves with --out-dir;
HubWithAcme runs the hub itself with [tls.acme], by HTTP-01 and by TLS-ALPN-01 on its https
port, and checks what it serves against pebble's root. Pebble validates for real
(PEBBLE_VA_NOSLEEP only removes its sleeps): it resolves the test domain through
pebble-challtestsrv's DNS, which answers 127.0.0.1, and fetches the token from the port the
test gave both (PostgreSQL for two processes, as test_postgres_store). Covered: issuance, a restart reusing the stored account and certificate (and a
database holding them only encrypted), renewal when the lifetime is short, and two processes
on one database where only the lease holder renews while the other picks the result up and
answers the CA's HTTP-01 request from the shared store.
"""
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import pebble as pebble_rig
from harness.hub import Hub, nbhub_bin, run_nbhub
from harness.session import free_port
from test_postgres_store import Postgres

DOMAIN = "hub.nbhub.test"
CRYPT_KEY = "a" * 64  # test key, not a secret


def acme_toml(p, db_url, http_port, **extra):
    lines = [
        'ip = "127.0.0.1"',
        f'db_url = "{db_url}"',
        "[tls.acme]",
        f'domains = ["{DOMAIN}"]',
        f'directory_url = "{p.directory_url}"',
        "accept_terms = true",
        'contact_email = "admin@example.org"',
        f"http_port = {http_port}",
        f'ca_file = "{p.ca_file}"',
        "retry_min_seconds = 1",
        "retry_max_seconds = 2",
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def env(**more):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("NBHUB_", "JUPYTERHUB_"))}
    e["NBHUB_CRYPT_KEY"] = CRYPT_KEY
    e.update(more)
    return e


def run_once(workdir, out_dir=None, extra_env=None, timeout=120):
    args = [nbhub_bin(), "-f", "nbhub.toml", "acme", "--once"]
    if out_dir:
        args += ["--out-dir", out_dir]
    return subprocess.run(args, cwd=workdir, env=env(**(extra_env or {})), capture_output=True,
                          text=True, timeout=timeout)


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, input=input)


def split_pem(chain):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", chain, re.S)


class AcmePebble(unittest.TestCase):
    def setUp(self):
        if not pebble_rig.available():
            self.skipTest("pebble is not installed (apt-get install pebble)")
        self.dir = tempfile.mkdtemp(prefix="nbhub-acme-")

    def write_config(self, text, name="nbhub.toml", workdir=None):
        with open(os.path.join(workdir or self.dir, name), "w") as f:
            f.write(text)

    def run_round(self, outcome, pebble):
        """One `nbhub acme --once` in self.dir, which must end with `outcome`; returns its log."""
        r = run_once(self.dir, out_dir=self.dir)
        log = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, log + pebble.log()[-3000:])
        self.assertIn(f"acme: {outcome}", r.stdout, log)
        self.assertNotIn("PRIVATE KEY", log)
        return log

    def check_chain(self, p, out_dir):
        with open(os.path.join(out_dir, "fullchain.pem")) as f:
            chain = f.read()
        certs = split_pem(chain)
        self.assertGreaterEqual(len(certs), 2, "leaf and pebble's intermediate")
        root = os.path.join(out_dir, "root.pem")
        with open(root, "w") as f:
            f.write(p.root_pem())
        inter = os.path.join(out_dir, "inter.pem")
        with open(inter, "w") as f:
            f.write("".join(certs[1:]))
        leaf = os.path.join(out_dir, "leaf.pem")
        with open(leaf, "w") as f:
            f.write(certs[0])
        v = openssl("verify", "-CAfile", root, "-untrusted", inter, leaf)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        san = openssl("x509", "-in", leaf, "-noout", "-ext", "subjectAltName")
        self.assertIn(f"DNS:{DOMAIN}", san.stdout)
        # The key written beside it is the certificate's.
        pub_cert = openssl("x509", "-in", leaf, "-noout", "-pubkey").stdout
        pub_key = openssl("pkey", "-in", os.path.join(out_dir, "privkey.pem"), "-pubout").stdout
        self.assertEqual(pub_cert, pub_key)
        self.assertEqual(os.stat(os.path.join(out_dir, "privkey.pem")).st_mode & 0o777, 0o600)
        return openssl("x509", "-in", leaf, "-noout", "-serial").stdout.strip().split("=")[1]

    def test_issues_via_http01_and_a_restart_reuses_account_and_certificate(self):
        with pebble_rig.Pebble() as p:
            db = os.path.join(self.dir, "hub.sqlite")
            self.write_config(acme_toml(p, f"sqlite:///{db}", p.http_port))
            log = self.run_round("obtained", p)
            self.assertIn("(created)", log)
            self.assertIn("answering the http-01 challenge for " + DOMAIN, log)
            self.assertRegex(log, r"GET /\.well-known/acme-challenge/\S+ 200")
            serial = self.check_chain(p, self.dir)
            self.assertIn(f"the CA issued serial {serial.upper()}", log)

            # The database holds the account key and certificate, never in clear.
            con = sqlite3.connect(db)
            rows = con.execute("SELECT name, sealed FROM acme_records").fetchall()
            con.close()
            names = sorted(r[0] for r in rows)
            self.assertEqual(names, [f"account {p.directory_url}",
                                     f"certificate {p.directory_url} {DOMAIN}"])
            for _, sealed in rows:
                self.assertNotIn("BEGIN", sealed)

            # A restart: the stored certificate is served, nothing is asked of the CA.
            os.remove(os.path.join(self.dir, "fullchain.pem"))
            log2 = self.run_round("picked_up", p)
            self.assertIn("serving the certificate from the database", log2)
            self.assertNotIn("registering", log2)
            self.assertNotIn("the CA issued", log2)
            self.assertEqual(self.check_chain(p, self.dir), serial)

            # Another crypt key cannot open them: a clear error, not a new account.
            wrong = run_once(self.dir, extra_env={"NBHUB_CRYPT_KEY": "b" * 64})
            self.assertEqual(wrong.returncode, 1)
            self.assertIn("cannot decrypt the stored certificate", wrong.stdout)

    def test_renews_when_due_and_keeps_the_account(self):
        # A lifetime long enough that a round on a busy machine ends well before half of it.
        with pebble_rig.Pebble(cert_validity_seconds=24) as p:
            self.write_config(acme_toml(p, f"sqlite:///{self.dir}/hub.sqlite", p.http_port,
                                        renew_at_percent=50))
            self.run_round("obtained", p)
            issued = time.time()
            serial = self.check_chain(p, self.dir)
            # A new process serves the stored certificate; it is not due yet.
            self.assertNotIn("the CA issued", self.run_round("picked_up", p))
            time.sleep(max(0.0, issued + 13 - time.time()))  # past half of the 24 s lifetime
            log = self.run_round("obtained", p)
            self.assertIn("using the stored account", log)
            self.assertNotIn("registering", log)
            self.assertNotEqual(self.check_chain(p, self.dir), serial)

    def test_two_processes_on_one_database_only_the_lease_holder_renews(self):
        # Several hubs share a database only on PostgreSQL (a SQLite file is one hub's).
        pg = Postgres()
        self.addCleanup(pg.close)
        if pg.reason:
            self.skipTest(pg.reason)
        with pebble_rig.Pebble(cert_validity_seconds=10) as p:
            db_url = pg.url()
            dirs = []
            # Only the first answers on the port pebble validates against; the second's
            # answers reach pebble through the store when it holds the lease.
            for i, port in enumerate([p.http_port, free_port()]):
                d = os.path.join(self.dir, f"hub{i}")
                os.mkdir(d)
                self.write_config(acme_toml(p, db_url, port, renew_at_percent=40,
                                            check_interval_seconds=1), workdir=d)
                dirs.append(d)
            procs = []
            try:
                for d in dirs:
                    procs.append(subprocess.Popen(
                        [nbhub_bin(), "-f", "nbhub.toml", "acme", "--out-dir", d], cwd=d, env=env(),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
                time.sleep(18)
            finally:
                logs = []
                for proc in procs:
                    proc.terminate()
                    try:
                        out, _ = proc.communicate(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        out, _ = proc.communicate(timeout=5)
                    logs.append(out)
            issued = [re.findall(r"the CA issued serial (\w+)", log) for log in logs]
            picked = [re.findall(r"serving the certificate from the database .*?\(serial (\w+)\)", log)
                      for log in logs]
            every = issued[0] + issued[1]
            detail = "\n---\n".join(logs) + p.log()[-2000:]
            self.assertGreaterEqual(len(every), 2, detail)
            self.assertEqual(len(every), len(set(every)), detail)
            # Renewal every 4 s over 18 s: two processes renewing on their own would issue about
            # twice as many. Each issuance by one (but a last one) is picked up by the other.
            self.assertLessEqual(len(every), 6, detail)
            for me, other in ((0, 1), (1, 0)):
                for serial in issued[me][:-1]:
                    self.assertIn(serial, picked[other], detail)
            self.assertIn("another hub holds the renewal lease", "".join(logs), detail)

    def test_a_renewal_by_another_hub_is_validated_through_the_shared_answers(self):
        # Hub 0 alone answers on the port pebble validates against; hub 1 renews earlier
        # (renew_at_percent 40 against 90), so it holds the lease for every renewal, and its
        # HTTP-01 answers reach pebble only through the database and hub 0.
        pg = Postgres()
        self.addCleanup(pg.close)
        if pg.reason:
            self.skipTest(pg.reason)
        with pebble_rig.Pebble(cert_validity_seconds=10, env={"PEBBLE_AUTHZREUSE": "0"}) as p:
            procs, logs = [], []
            try:
                for i, (port, percent) in enumerate([(p.http_port, 90), (free_port(), 40)]):
                    d = os.path.join(self.dir, f"hub{i}")
                    os.mkdir(d)
                    self.write_config(acme_toml(p, pg.url(), port, renew_at_percent=percent,
                                                check_interval_seconds=1), workdir=d)
                    procs.append(subprocess.Popen(
                        [nbhub_bin(), "-f", "nbhub.toml", "acme", "--out-dir", d], cwd=d, env=env(),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
                    if i == 0:  # hub 0 gets the first certificate alone
                        deadline = time.time() + 60
                        while not os.path.exists(os.path.join(d, "fullchain.pem")):
                            self.assertLess(time.time(), deadline, "hub 0 got no certificate")
                            time.sleep(0.2)
                time.sleep(9)  # about two renewals by hub 1
            finally:
                for proc in procs:
                    proc.terminate()
                    try:
                        logs.append(proc.communicate(timeout=10)[0])
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        logs.append(proc.communicate(timeout=5)[0])
            detail = "\n---\n".join(logs) + p.log()[-2000:]
            issued = [re.findall(r"the CA issued serial (\w+)", log) for log in logs]
            self.assertEqual(len(issued[0]), 1, detail)
            self.assertGreaterEqual(len(issued[1]), 1, detail)
            picked = re.findall(r"serving the certificate from the database .*?\(serial (\w+)\)", logs[0])
            for serial in issued[1][:-1]:
                self.assertIn(serial, picked, detail)
            # Every issuance was validated on hub 0's port, hub 1's through the database.
            answered = set(re.findall(r"GET /\.well-known/acme-challenge/(\S+) 200", logs[0]))
            self.assertGreaterEqual(len(answered), 1 + len(issued[1]), detail)
            self.assertNotIn("acme-challenge", logs[1], detail)


if __name__ == "__main__":
    unittest.main()


def hub_get(port, root_pem, path="/hub/login"):
    """GET `path` over https on 127.0.0.1:`port` as DOMAIN, trusting only pebble's root."""
    ctx = ssl.create_default_context(cadata=root_pem)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=DOMAIN) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    return data.decode("latin-1")


class HubWithAcme(unittest.TestCase):
    """The hub itself runs [tls.acme]: it obtains a certificate from pebble before its https
    port accepts, and serves it (with pebble's intermediate) to a client trusting pebble's root."""

    def setUp(self):
        if not pebble_rig.available():
            self.skipTest("pebble is not installed (apt-get install pebble)")
        self.dir = tempfile.mkdtemp(prefix="nbhub-acme-hub-")

    def hub_toml(self, p, challenge):
        text = acme_toml(p, "sqlite:///nbhub.sqlite", p.http_port, challenge=f'"{challenge}"')
        return text.replace('ip = "127.0.0.1"\n',
                            f'ip = "127.0.0.1"\nport = {p.tls_port}\nhub_bind_url = "http://127.0.0.1:0"\n'
                            f'public_url = "https://{DOMAIN}:{p.tls_port}/"\n', 1) + \
            '[[auth.providers]]\nname = "dummy"\nkind = "dummy"\n'


    def run_hub(self, challenge):
        with pebble_rig.Pebble() as p:
            hub = Hub(self.hub_toml(p, challenge), env={"NBHUB_CRYPT_KEY": CRYPT_KEY},
                      workdir=self.dir, startup_timeout=90)
            hub.start()
            try:
                self.assertEqual(hub.scheme, "https")
                log = hub.log()
                self.assertIn("acme: first round: obtained", log, log + p.log()[-3000:])
                self.assertIn(f"answering the {challenge} challenge for {DOMAIN}", log)
                self.assertNotIn("PRIVATE KEY", log)
                page = hub_get(hub.port, p.root_pem())
                self.assertIn("password", page)
                self.assertRegex(page.split("\r\n", 1)[0], r"^HTTP/1\.1 200", page[:500])
            finally:
                hub.stop()
            return hub.log()

    def test_http01_hub_obtains_and_serves_its_certificate(self):
        log = self.run_hub("http-01")
        self.assertRegex(log, r"GET /\.well-known/acme-challenge/\S+ 200")

    def test_refuses_to_start_without_a_crypt_key(self):
        with open(os.path.join(self.dir, "nbhub.toml"), "w") as f:
            f.write('ip = "127.0.0.1"\nport = 0\nhub_bind_url = "http://127.0.0.1:0"\n'
                    '[tls.acme]\ndomains = ["hub.nbhub.test"]\naccept_terms = true\n')
        r = run_nbhub(["-f", "nbhub.toml"], cwd=self.dir)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("tls.acme needs NBHUB_CRYPT_KEY", r.stdout + r.stderr)

    def test_tls_alpn01_through_the_hubs_https_port(self):
        log = self.run_hub("tls-alpn-01")
        self.assertNotIn("acme-challenge", log)


def plain_get(port, path):
    """A plain-http GET on 127.0.0.1:`port` as DOMAIN: (status line, headers text)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    text = data.decode("latin-1")
    status, _, rest = text.partition("\r\n")
    return status, rest


def orders(p):
    """How many orders pebble has been sent (its log has a line for each)."""
    return p.log().count("POST /order-plz")


class HubWithAcmeOnTheRedirectPort(unittest.TestCase):
    """redirect_port equal to tls.acme.http_port: one plain-http listener answers the CA's
    HTTP-01 requests and redirects everything else to https; and a hub restart serves the
    stored certificate without a new order."""

    def setUp(self):
        if not pebble_rig.available():
            self.skipTest("pebble is not installed (apt-get install pebble)")
        self.dir = tempfile.mkdtemp(prefix="nbhub-acme-redirect-")

    def test_http01_and_redirects_on_one_port_and_a_restart_orders_nothing(self):
        with pebble_rig.Pebble() as p:
            toml = HubWithAcme.hub_toml(self, p, "http-01").replace(
                f'port = {p.tls_port}\n', f'port = {p.tls_port}\nredirect_port = {p.http_port}\n', 1)
            hub = Hub(toml, env={"NBHUB_CRYPT_KEY": CRYPT_KEY}, workdir=self.dir, startup_timeout=90)
            hub.start()
            try:
                log = hub.log()
                detail = log + p.log()[-3000:]
                self.assertIn("acme: answering HTTP-01 challenges on the redirect port", log, detail)
                self.assertNotIn("answering HTTP-01 challenges on port", log, detail)
                self.assertIn("acme: first round: obtained", log, detail)
                # pebble's validation request reached the redirect port's HTTP-01 route
                self.assertRegex(log, r"GET /\.well-known/acme-challenge/\S+ 200")
                self.assertEqual(orders(p), 1, detail)
                # Everything else on that port is a redirect to the https port.
                status, headers = plain_get(p.http_port, "/hub/login?next=%2Fhub%2F")
                self.assertRegex(status, r"^HTTP/1\.1 30[18]", headers)
                self.assertIn(f"location: https://{DOMAIN}:{p.tls_port}/hub/login?next=%2fhub%2f",
                              headers.lower(), headers)
                # An unknown token is a 404 from the HTTP-01 route, not a redirect.
                status, _ = plain_get(p.http_port, "/.well-known/acme-challenge/unknown-token")
                self.assertRegex(status, r"^HTTP/1\.1 404")
                self.assertIn("password", hub_get(hub.port, p.root_pem()))
                first_serial = re.findall(r"the CA issued serial (\w+)", log)
                self.assertEqual(len(first_serial), 1, detail)
            finally:
                hub.stop(cleanup=False)

            # A restart on the same database: the stored certificate is served at once, and
            # pebble is sent no new order.
            hub2 = Hub(toml, env={"NBHUB_CRYPT_KEY": CRYPT_KEY}, workdir=self.dir, startup_timeout=90)
            hub2.start()
            try:
                log2 = hub2.log()
                detail = log2 + p.log()[-3000:]
                self.assertIn("acme: first round: picked_up", log2, detail)
                self.assertNotIn("the CA issued", log2, detail)
                self.assertEqual(orders(p), 1, detail)
                page = hub_get(hub2.port, p.root_pem())
                self.assertRegex(page.split("\r\n", 1)[0], r"^HTTP/1\.1 200", page[:500])
                self.assertIn(f"serial {first_serial[0]}".lower(), log2.lower(), detail)
            finally:
                hub2.stop()
