"""Issue 21, part 4: structured logs and request ids.

log_format = "json" gives one JSON object per line (time, level, logger, message; access lines
with method, path, status, request_id...), parsed here with Python's json. Every request gets
an id: returned as X-Request-Id by the hub, written in its access line, and passed to the
server behind the proxy (here the managed whoami service from tests/data/services, which
echoes the X-Request-Id it received). An X-Request-Id from the client is kept only when the
peer is in trusted_proxies. access_log = false leaves no access lines.
"""
import json
import os
import sys
import time
import unittest

from harness.hub import Hub
from harness.managed import WHOAMI, free_port, get, wait_for

SERVICE = WHOAMI
ADMIN = "logs-admin-token-" + os.urandom(6).hex()


def config(extra):
    port = free_port()
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
{extra}
services = [ {{ name = "admin-svc", api_token = "{ADMIN}", admin = true }},
             {{ name = "whoami", url = "http://127.0.0.1:{port}", command = ["{sys.executable}", "{SERVICE}"] }} ]
load_roles = [ {{ name = "lister", scopes = ["list:users"], services = ["whoami"] }} ]
[auth]
allowed_users = ["ann"]
"""


def service_answer(hub, headers=None):
    def once():
        status, body, _ = get(hub.url("/services/whoami/x"), headers)
        return json.loads(body) if status == 200 else None
    return wait_for(once)


class JsonLogTest(unittest.TestCase):
    def test_json_lines_with_request_ids(self):
        with Hub(config('log_format = "json"')) as hub:
            first = service_answer(hub)
            self.assertIsNotNone(first, hub.log())
            proxied_id = first["request_id"]
            self.assertRegex(proxied_id or "", r"^[0-9a-f]{6}-[0-9a-f]+$")

            # The proxied response carries the id the hub logged and the server received,
            # in place of the one the server set itself.
            status, body, headers = get(hub.url("/services/whoami/x"))
            self.assertEqual(status, 200)
            answered_id = json.loads(body)["request_id"]
            self.assertEqual(headers.get_all("X-Request-Id"), [answered_id])

            # A client's own X-Request-Id from an untrusted peer is replaced.
            forged = service_answer(hub, {"X-Request-Id": "forged-by-client"})
            self.assertNotEqual(forged["request_id"], "forged-by-client")

            status, _, headers = get(hub.url("/hub/api/"), {"X-Request-Id": "forged-too"})
            self.assertEqual(status, 200)
            hub_id = headers.get("X-Request-Id")
            self.assertRegex(hub_id or "", r"^[0-9a-f]{6}-[0-9a-f]+$")
            status, _, _ = get(hub.url("/hub/api/users"), {"Authorization": "token " + ADMIN})
            self.assertEqual(status, 200)
            time.sleep(0.3)
            hub.stop(cleanup=False)

            records = []
            for line in hub.log().splitlines():
                if not line.startswith("{"):
                    # Only the config loader's warnings, printed before logging starts.
                    self.assertRegex(line, r"warning", line)
                    continue
                rec = json.loads(line)
                for key in ("time", "level", "logger", "message"):
                    self.assertIn(key, rec, line)
                self.assertRegex(rec["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                records.append(rec)
            self.assertNotIn(ADMIN, hub.log())
            access = [r for r in records if r["logger"] == "access"]
            hub_logs = [r for r in records if r["logger"] == "nbhub"]
            self.assertTrue(any("nbhub is listening" in r["message"] for r in hub_logs))
            by_id = {r["request_id"]: r for r in access}
            # The proxied request's line carries the id the server received.
            self.assertIn(proxied_id, by_id)
            self.assertEqual(by_id[proxied_id]["path"], "/services/whoami/x")
            self.assertEqual(by_id[proxied_id]["status"], 200)
            self.assertEqual(by_id[proxied_id]["method"], "GET")
            self.assertIn(answered_id, by_id)
            self.assertEqual(by_id[answered_id]["path"], "/services/whoami/x")
            self.assertIn(hub_id, by_id)
            self.assertEqual(by_id[hub_id]["path"], "/hub/api/")
            self.assertNotIn("forged-too", by_id)
            # The service's own API calls reach the hub API port with ids of their own.
            self.assertTrue(any(r["path"] == "/hub/api/users" and r["status"] == 200 for r in access))


class TrustedRequestIdTest(unittest.TestCase):
    def test_trusted_proxy_id_is_kept_and_access_log_off(self):
        with Hub(config('trusted_proxies = ["127.0.0.1"]\naccess_log = false')) as hub:
            answer = service_answer(hub, {"X-Request-Id": "lb-chosen-id-42"})
            self.assertIsNotNone(answer, hub.log())
            self.assertEqual(answer["request_id"], "lb-chosen-id-42")
            status, _, headers = get(hub.url("/services/whoami/x"), {"X-Request-Id": "lb-chosen-id-44"})
            self.assertEqual(headers.get_all("X-Request-Id"), ["lb-chosen-id-44"])
            status, _, headers = get(hub.url("/hub/api/"), {"X-Request-Id": "lb-chosen-id-43"})
            self.assertEqual(headers.get("X-Request-Id"), "lb-chosen-id-43")
            # Unacceptable ids (spaces, quotes) are replaced even from a trusted peer.
            status, _, headers = get(hub.url("/hub/api/"), {"X-Request-Id": 'bad "id"'})
            self.assertRegex(headers.get("X-Request-Id") or "", r"^[0-9a-f]{6}-[0-9a-f]+$")
            time.sleep(0.3)
            self.assertNotIn(" access]", hub.log())
            self.assertIn(" nbhub]", hub.log())


if __name__ == "__main__":
    unittest.main()
