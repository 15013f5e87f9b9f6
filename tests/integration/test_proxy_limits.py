"""`nbhub proxy`'s listener limits come from its flags (issue 24, bench/stress): connections at
most, the request head's size and its deadline. Before, they were fixed (10,000 connections,
16 KiB, 30 s), so the proxy could not be configured for more connections nor for a shorter
slowloris bound."""
import socket
import subprocess
import tempfile
import time
import unittest

from harness.hub import nbhub_bin
from harness.session import free_port

HEALTH = b"GET /_chp_healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class ProxyLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port, api = free_port(), free_port()
        cls.work = tempfile.TemporaryDirectory()
        cls.log = open(f"{cls.work.name}/proxy.log", "w")
        cls.proc = subprocess.Popen(
            [nbhub_bin(), "proxy", "--ip", "127.0.0.1", "--port", str(cls.port), "--api-ip", "127.0.0.1",
             "--api-port", str(api), "--threads", "1", "--keep-alive-timeout", "60000",
             "--max-connections", "4", "--header-limit", "4096", "--request-timeout", "1000"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        time.sleep(0.2)  # the probe connections above are gone before a test counts them

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.log.close()
        cls.work.cleanup()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        return s

    def status(self, s):
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
        return int(data.split(b" ", 2)[1])

    def read_response(self, s):
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def test_a_head_over_the_header_limit_is_answered_431(self):
        s = self.connect()
        s.sendall(b"GET /_chp_healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n")
        self.assertEqual(self.status(s), 431)
        ok = self.connect()
        ok.sendall(b"GET /_chp_healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Small: " + b"a" * 2048 + b"\r\n\r\n")
        self.assertEqual(self.status(ok), 200)

    def test_a_slow_head_is_closed_at_the_request_timeout_while_others_are_served(self):
        slow = self.connect()
        t0 = time.monotonic()
        slow.sendall(b"GET /_chp_healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        other = self.connect()
        closed_after = None
        slow.settimeout(0.3)
        while time.monotonic() - t0 < 5:
            try:
                if slow.recv(4096) == b"":
                    closed_after = time.monotonic() - t0
                    break
            except socket.timeout:
                try:
                    slow.sendall(b"a")  # a byte every 0.3 s: the head never ends
                except OSError:
                    closed_after = time.monotonic() - t0
                    break
                other.sendall(HEALTH)
                self.assertIn(b"200 OK", self.read_response(other))
            except OSError:
                closed_after = time.monotonic() - t0
                break
        self.assertIsNotNone(closed_after, "the slow head was not closed within 5 s")
        # 1 s, plus the deadline reaper's tick (a quarter of the shortest timeout).
        self.assertGreaterEqual(closed_after, 0.9)
        self.assertLess(closed_after, 2.5)

    def test_connections_beyond_max_connections_are_closed_at_accept(self):
        time.sleep(0.5)  # other tests' connections, closed by their clean-ups, are gone
        held = [self.connect() for _ in range(4)]
        for s in held:
            s.sendall(HEALTH)
            self.assertIn(b"200 OK", self.read_response(s))
        extra = self.connect()
        try:
            extra.sendall(HEALTH)
            answer = extra.recv(4096)
        except OSError:
            answer = b""
        self.assertEqual(answer, b"", "a fifth connection was served with --max-connections 4")
        for s in held:
            s.close()
        time.sleep(0.3)
        again = self.connect()
        again.sendall(HEALTH)
        self.assertIn(b"200 OK", self.read_response(again))


if __name__ == "__main__":
    unittest.main()
