# Custos login on Kubernetes, in the style of a zero-to-jupyterhub hub.extraConfig snippet.
# The client secret comes from a Kubernetes secret mounted as an environment variable.
import os

from custosauthenticator.custos import CustosOAuthenticator

c = get_config()  # noqa

# Set by z2jh's own jupyterhub_config.py; repeated so this file stands alone.
c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"

c.JupyterHub.authenticator_class = CustosOAuthenticator
c.CustosOAuthenticator.oauth_callback_url = "https://jupyter.example.org/hub/oauth_callback"
c.CustosOAuthenticator.client_id = "custos-6nwoqodstpe5mvcq09lh-10000101"
c.CustosOAuthenticator.client_secret = os.environ["CUSTOS_CLIENT_SECRET"]
c.CustosOAuthenticator.login_service = "Custos Login"
c.CustosOAuthenticator.custos_host = os.getenv("CUSTOS_HOST", "custos.scigap.org")

# OAuthenticator 16+ (and nbhub) deny by default: anyone who can log in to this Custos
# tenant may use the hub.
c.Authenticator.allow_all = True
c.Authenticator.enable_auth_state = True
c.JupyterHub.shutdown_on_logout = True
c.KubeSpawner.image = os.environ.get("SINGLEUSER_IMAGE", "jupyterhub/k8s-singleuser-sample:3.0.0")
