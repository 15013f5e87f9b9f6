from oauthenticator.generic import GenericOAuthenticator
c.JupyterHub.authenticator_class = GenericOAuthenticator
c.OAuthenticator.oauth_callback_url = 'http://localhost:8000/hub/oauth_callback'
c.OAuthenticator.client_id = '...'
c.OAuthenticator.client_secret = '...'
c.GenericOAuthenticator.login_service = "Unity Common Services"
c.GenericOAuthenticator.username_key = "username"
c.GenericOAuthenticator.authorize_url = "https://unity-test.auth.us-west-2.amazoncognito.com/oauth2/authorize"
c.GenericOAuthenticator.token_url = "https://unity-test.auth.us-west-2.amazoncognito.com/oauth2/token"
c.GenericOAuthenticator.userdata_url = "https://unity-test.auth.us-west-2.amazoncognito.com/oauth2/userInfo"
c.Authenticator.admin_users = {'awstestuser777'}
c.Authenticator.allowed_users = {'awstestuser777', 'someone'}
c.JupyterHub.hub_bind_url = 'http://0.0.0.0:8081'
c.JupyterHub.port = 80
c.JupyterHub.spawner_class = 'dockerspawner.DockerSpawner'
c.DockerSpawner.image = 'jupyterhub/singleuser:latest'
