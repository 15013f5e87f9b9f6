"""Helpers shared by the integration tests (run from tests/integration, so `harness` imports).

idp          -- TestIdp: the bundled OpenID provider (tests/idp) on a free loopback port
browserless  -- a cookie-jar HTTP client that shows every redirect, and login_at_idp()
"""
