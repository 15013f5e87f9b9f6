"""Issue 21, part 5: deploy/grafana/nbhub-dashboard.json cannot drift from the code.

Loads the dashboard, takes every metric name out of every PromQL expression (and the
template variables' queries) with a regex, and checks each against a real scrape of
/hub/metrics of a running hub: a sample of that name, or a family (# TYPE) of that name, or
a histogram family whose _bucket/_count/_sum it is. The hub runs a managed service so the
service metrics exist.
"""
import json
import os
import re
import sys
import time
import unittest
import urllib.request

from harness.hub import Hub
from harness.managed import TESTS, WHOAMI

ROOT = os.path.abspath(os.path.join(TESTS, ".."))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "nbhub-dashboard.json")
SERVICE = WHOAMI
METRIC = re.compile(r"\b((?:jupyterhub|nbhub|process)_[a-zA-Z0-9_]+)\b")
CONFIG = f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
authenticate_prometheus = false
services = [ {{ name = "exiter", command = ["{sys.executable}", "{SERVICE}", "exit:0"] }} ]
"""


def expressions(dashboard):
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            yield "variable " + v["name"], v["query"]


def scrape_names(text):
    samples, families = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            families[name] = kind
        elif line and not line.startswith("#"):
            samples.add(re.split(r"[{ ]", line, 1)[0])
    return samples, families


class GrafanaDashboardTest(unittest.TestCase):
    def test_every_metric_in_the_dashboard_is_exported(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        exprs = list(expressions(dashboard))
        self.assertGreater(len(exprs), 20)
        for p in dashboard["panels"]:
            if p["type"] != "row":
                self.assertTrue(p.get("targets"), p["title"])
                self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])

        with Hub(CONFIG) as hub:
            # Wait for one restart so that the restart counter has a child.
            deadline = time.time() + 15
            while time.time() < deadline and "exited with code 0" not in hub.log():
                time.sleep(0.1)
            with urllib.request.urlopen(hub.url("/hub/metrics"), timeout=10) as r:
                text = r.read().decode()
        samples, families = scrape_names(text)

        def exported(name):
            if name in samples or name in families:
                return True
            for suffix in ("_bucket", "_count", "_sum"):
                if name.endswith(suffix) and families.get(name[: -len(suffix)]) == "histogram":
                    return True
            return False

        missing = []
        for where, expr in exprs:
            names = METRIC.findall(expr)
            self.assertTrue(names, f"{where}: no metric in {expr}")
            missing += [f"{where}: {n}" for n in names if not exported(n)]
        self.assertEqual(missing, [], "metrics in the dashboard that /hub/metrics does not export")

        # And the other way: the families operators most need are on the dashboard.
        used = {n for _, e in exprs for n in METRIC.findall(e)}
        for must in ("jupyterhub_running_servers", "nbhub_proxy_websockets_open", "nbhub_service_restarts_total",
                     "nbhub_sign_in_failures_total", "process_resident_memory_bytes"):
            self.assertIn(must, used)


if __name__ == "__main__":
    unittest.main()
