// The oidc-provider instance: accounts, claims, clients, lifetimes and routes per mode.
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

import { privateJwks } from './jwt.mjs';

// Route tables. Cognito's hosted-UI paths are used in cognito mode so nbhub's Cognito preset is
// exercised with the real URL shapes; generic and custos keep oidc-provider's defaults (custos
// adds Keycloak-style aliases in custos.mjs).
const ROUTES = {
  generic: {
    authorization: '/auth', token: '/token', userinfo: '/me', jwks: '/jwks',
    revocation: '/token/revocation', introspection: '/token/introspection', end_session: '/session/end',
  },
  cognito: {
    authorization: '/oauth2/authorize', token: '/oauth2/token', userinfo: '/oauth2/userInfo',
    jwks: '/.well-known/jwks.json', revocation: '/oauth2/revoke',
    introspection: '/oauth2/introspect', end_session: '/oauth2/end_session',
  },
};
ROUTES.custos = ROUTES.generic;

export function routesFor(mode) {
  return ROUTES[mode];
}

// Claim names per scope. Everything sits under `openid` because Cognito returns every readable
// attribute for a token with only `openid`; the other scopes are listed so they are accepted.
const CLAIMS = {
  openid: ['sub', 'username', 'cognito:username', 'cognito:groups', 'token_use',
    'email', 'email_verified', 'name', 'given_name', 'family_name', 'preferred_username'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
};

// Claims of one user for one audience. `use` is 'id_token' or 'userinfo': Cognito puts groups
// and cognito:username only in the ID token and `username` only in userinfo, which is exactly
// the difference nbhub has to cope with.
function accountClaims(user, use) {
  const common = {
    sub: user.sub,
    email: user.email,
    email_verified: user.email_verified,
    name: user.name,
    given_name: user.given_name,
    family_name: user.family_name,
    preferred_username: user.username,
    ...user.claims,
  };
  if (use === 'userinfo') return { ...common, username: user.username };
  return {
    ...common,
    'cognito:username': user.username,
    // Cognito omits the claim for users in no group.
    ...(user.groups.length ? { 'cognito:groups': user.groups.map((g) => g.name) } : {}),
    token_use: 'id',
  };
}

// Our own client keys, removed before the metadata reaches oidc-provider.
const LOCAL_CLIENT_KEYS = ['require_pkce', 'logout_uris'];

function providerClient(c) {
  const meta = { ...c };
  LOCAL_CLIENT_KEYS.forEach((k) => delete meta[k]);
  if (c.logout_uris) meta.post_logout_redirect_uris = c.logout_uris;
  meta.response_types = c.grant_types.includes('authorization_code') ? ['code'] : [];
  // auth_time in every ID token, as Cognito does.
  meta.require_auth_time ??= true;
  return meta;
}

export function createProvider(issuer, config, keys) {
  const { users, clients } = config;
  const pkceClients = new Set(clients.filter((c) => c.require_pkce).map((c) => c.client_id));

  // Users' extra claims (CILogon's idp, eppn, ...) are granted with `openid`, like the rest, and
  // with CILogon's `org.cilogon.userinfo` scope.
  const extraClaims = [...new Set(users.flatMap((u) => Object.keys(u.claims)))];
  const configuration = {
    jwks: privateJwks(keys),
    clients: clients.map(providerClient),
    claims: { ...CLAIMS, openid: [...CLAIMS.openid, ...extraClaims], 'org.cilogon.userinfo': extraClaims },
    // oidc-provider accepts only known scopes, also in client metadata: so every client's
    // custom scopes (Cognito resource-server scopes like "nbhub/api") are known too.
    scopes: [...new Set(['openid', 'offline_access', 'email', 'profile', 'phone', 'org.cilogon.userinfo',
      'aws.cognito.signin.user.admin', ...config.extraScopes,
      ...clients.flatMap((c) => (c.scope ? c.scope.split(' ') : []))])],
    // Put every granted claim into the ID token (Cognito does), not only `sub`.
    conformIdTokenClaims: false,
    routes: routesFor(config.mode),
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: (_ctx, client) => pkceClients.has(client.clientId) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },

    async findAccount(_ctx, sub) {
      const user = users.find((u) => u.sub === sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async (use) => accountClaims(user, use) };
    },

    // No consent screen: every configured client is first-party, so the grant simply covers
    // whatever was asked for.
    async loadExistingGrant(ctx) {
      const { client, session, params } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      grant ??= new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(params.scope ?? 'openid');
      await grant.save();
      return grant;
    },

    // Like Cognito: a refresh token on every code exchange, no offline_access needed, and
    // tokens outlive the IdP's browser session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: () => config.rotateRefreshTokens,

    ttl: {
      AccessToken: config.accessTokenTtl,
      ClientCredentials: config.accessTokenTtl,
      IdToken: config.idTokenTtl,
      RefreshToken: config.refreshTokenTtl,
      AuthorizationCode: 300,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: config.refreshTokenTtl,
    },

    renderError(ctx, out) {
      process.stderr.write(`idp: error page ${JSON.stringify(out)}\n`);
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><title>IdP error</title><h1>IdP error</h1><pre>${
        Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<&>]/g, (ch) => `&#${ch.charCodeAt(0)};`)}`).join('\n')
      }</pre>`;
    },
  };

  const provider = new Provider(issuer, configuration);
  // Loopback over plain HTTP: no reverse proxy headers to trust.
  provider.proxy = false;
  provider.on('server_error', (_ctx, err) => process.stderr.write(`idp: server_error ${err.stack}\n`));
  return provider;
}
