# Amazon Cognito behind an AWS Application Load Balancer that terminates TLS.
# The ALB forwards plain HTTP to the hub on port 8000; users only ever see
# https://hub.example.org, so the callback and the public URL say so explicitly.
import os

from oauthenticator.generic import GenericOAuthenticator

c = get_config()  # noqa

c.JupyterHub.authenticator_class = GenericOAuthenticator
c.JupyterHub.bind_url = "http://:8000/"
c.JupyterHub.public_url = "https://hub.example.org/"
c.JupyterHub.trusted_downstream_ips = ["10.0.0.0/16"]  # the ALB's subnets

cognito = "https://unity-test.auth.us-west-2.amazoncognito.com"
c.GenericOAuthenticator.oauth_callback_url = "https://hub.example.org/hub/oauth_callback"
c.GenericOAuthenticator.client_id = os.environ["COGNITO_CLIENT_ID"]
c.GenericOAuthenticator.client_secret = os.environ["COGNITO_CLIENT_SECRET"]
c.GenericOAuthenticator.login_service = "Unity Common Services"
c.GenericOAuthenticator.authorize_url = cognito + "/oauth2/authorize"
c.GenericOAuthenticator.token_url = cognito + "/oauth2/token"
c.GenericOAuthenticator.userdata_url = f"{cognito}/oauth2/userInfo"
c.GenericOAuthenticator.username_claim = "username"
c.GenericOAuthenticator.scope = ["openid", "email", "profile"]
c.GenericOAuthenticator.basic_auth = True  # client_secret_basic, as Cognito's docs describe
c.GenericOAuthenticator.logout_redirect_url = (
    cognito
    + "/logout?client_id=" + os.environ["COGNITO_CLIENT_ID"]
    + "&logout_uri=https%3A%2F%2Fhub.example.org%2Fhub%2Flogin"
)

c.Authenticator.enable_auth_state = True
c.Authenticator.admin_users = {"awstestuser777"}
c.Authenticator.allowed_users = {"awstestuser777", "someone"}
