"""Drives the fake API server with Debian's python3-kubernetes (22.6): create, list, watch, delete, 410.

Run by tests/integration/test_fake_k8s.py with an interpreter that has `kubernetes` (Debian's
/usr/bin/python3 when the test runs under another Python). Usage: python_kubernetes_check.py URL (TOKEN | incluster:SA_DIR).
Exits 0 and prints "ok" when every step behaved as against a real API server; else raises.
"""
import json
import sys
import time
import urllib.request

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

url, token = sys.argv[1], sys.argv[2]
if token.startswith("incluster:"):
    # In-cluster configuration from a service-account directory and KUBERNETES_SERVICE_* (TLS, CA checked).
    import os
    from kubernetes.config.incluster_config import InClusterConfigLoader
    sa = token.split(":", 1)[1]
    InClusterConfigLoader(token_filename=os.path.join(sa, "token"), cert_filename=os.path.join(sa, "ca.crt"),
                          environ=os.environ).load_and_set()
    cfg = client.Configuration.get_default_copy()
    assert cfg.host == url, (cfg.host, url)
else:
    cfg = client.Configuration()
    cfg.host = url
    cfg.api_key = {"authorization": token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
api = client.CoreV1Api(client.ApiClient(cfg))


def expect_status(code, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except ApiException as e:
        assert e.status == code, f"{fn.__name__}: wanted {code}, got {e.status} {e.body}"
        return e
    raise AssertionError(f"{fn.__name__}: wanted ApiException {code}, got success")


body = client.V1Pod(metadata=client.V1ObjectMeta(name="jupyter-alice", labels={"component": "singleuser-server"}),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="notebook", image="x:1")]))
created = api.create_namespaced_pod("jhub", body)
assert created.status.phase == "Pending", created.status
e = expect_status(409, api.create_namespaced_pod, "jhub", body)
assert json.loads(e.body)["reason"] == "AlreadyExists"
lst = api.list_namespaced_pod("jhub", label_selector="component=singleuser-server", field_selector="")
assert [p.metadata.name for p in lst.items] == ["jupyter-alice"], lst.items
rv = lst.metadata.resource_version
seen = []
w = watch.Watch()
for ev in w.stream(api.list_namespaced_pod, "jhub", label_selector="component=singleuser-server",
                   resource_version=rv, timeout_seconds=5):
    seen.append((ev["type"], ev["object"].metadata.name, ev["object"].status.phase))
    if ev["object"].status.phase == "Running":
        w.stop()
assert ("MODIFIED", "jupyter-alice", "Running") in seen, seen
evs = api.list_namespaced_event("jhub", field_selector="involvedObject.kind=Pod")
reasons = [e.reason for e in evs.items]
assert reasons[:3] == ["Scheduled", "Pulling", "Pulled"], reasons
deleted = api.delete_namespaced_pod("jupyter-alice", "jhub", grace_period_seconds=1,
                                    body=client.V1DeleteOptions(grace_period_seconds=1))
assert deleted.metadata.deletion_timestamp is not None
end = time.time() + 10
while api.list_namespaced_pod("jhub").items:
    assert time.time() < end, "the pod never went away"
    time.sleep(0.05)
expect_status(404, api.delete_namespaced_pod, "jupyter-alice", "jhub")
# 410 from a compacted history reaches the client as ApiException(410).
import ssl
urllib.request.urlopen(urllib.request.Request(url + "/__fake/compact", data=b"{}", method="POST"),
                       context=ssl._create_unverified_context()).read()
try:
    for _ in watch.Watch().stream(api.list_namespaced_pod, "jhub", resource_version=rv, timeout_seconds=3):
        pass
    raise AssertionError("a watch from a compacted resourceVersion did not fail")
except ApiException as e:
    assert e.status == 410, e
print("ok")
