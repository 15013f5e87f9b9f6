"""A fake Kubernetes API server for tests (Python standard library only).

    from fakekube import FakeKube
    with FakeKube(namespaces=["jhub"], token_file=path) as kube:
        kube.url            # http://127.0.0.1:<port>
        kube.requests()     # the request log

See ../README.md for what it models and what it does not.
"""
from .server import FakeKube, Z2JH_HUB_ROLE, make_test_cert  # noqa: F401
