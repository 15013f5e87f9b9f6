"""Test-only certificates, made per test with the openssl command line (nothing committed):
a CA, leaf certificates it signs for 127.0.0.1/localhost with chosen serials, an expired one.
Clients trust `ca.pem` (`ssl_context()`), so a renewed leaf is trusted as the first was.
"""
import os
import ssl
import subprocess


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class TestCA:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "ca")
        os.makedirs(self.dir, exist_ok=True)
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=nbhub test-only CA",
             cwd=self.dir)
        with open(os.path.join(self.dir, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def key_pem(self, path):
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path, cwd=self.dir)
        return path

    def issue(self, outdir, serial, *, key=None, name="tls"):
        """Writes <outdir>/<name>.crt (leaf, then the CA: a chain file) and <name>.key;
        returns (cert, key). `key`: sign this existing key instead of a new one."""
        os.makedirs(outdir, exist_ok=True)
        crt = os.path.join(outdir, f"{name}.crt")
        k = os.path.join(outdir, f"{name}.key")
        if key:
            with open(key) as src, open(k, "w") as dst:
                dst.write(src.read())
        else:
            self.key_pem(k)
        csr = os.path.join(self.dir, f"{serial}.csr")
        _run("req", "-new", "-key", k, "-subj", "/CN=127.0.0.1", "-out", csr, cwd=self.dir)
        leaf = os.path.join(self.dir, f"{serial}.pem")
        _run("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-set_serial", str(serial),
             "-days", "2", "-extfile", "san.ext", "-out", leaf, cwd=self.dir)
        with open(crt, "w") as out:
            out.write(open(leaf).read() + open(self.cert).read())
        return crt, k

    def issue_expired(self, outdir):
        """A leaf valid in January 2020 only, through `openssl ca` (x509 -req cannot backdate)."""
        os.makedirs(outdir, exist_ok=True)
        with open(os.path.join(self.dir, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
                    "default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n")
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        k = self.key_pem(os.path.join(outdir, "expired.key"))
        csr = os.path.join(self.dir, "expired.csr")
        _run("req", "-new", "-key", k, "-subj", "/CN=127.0.0.1", "-out", csr, cwd=self.dir)
        crt = os.path.join(outdir, "expired.crt")
        _run("ca", "-config", "ca.cnf", "-batch", "-notext", "-cert", self.cert, "-keyfile", self.key,
             "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-in", csr, "-out", crt,
             cwd=self.dir)
        return crt, k

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx


def served_serial(port, ca, host="127.0.0.1"):
    """The serial (an int) of the certificate a new TLS connection to `port` gets."""
    import socket
    with socket.create_connection((host, port), timeout=5) as s:
        with ca.ssl_context().wrap_socket(s, server_hostname=host) as t:
            der = t.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                         capture_output=True, check=True).stdout.decode()
    return int(out.strip().split("=", 1)[1], 16)
