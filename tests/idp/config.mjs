// Command line and config file → one normalized config object, with the documented defaults.
// README.md beside this file is the reference for every key.
import { readFileSync } from 'node:fs';

import { uuidFor } from './jwt.mjs';

export const MODES = ['generic', 'cognito', 'custos'];

export const DEFAULT_USERS = [
  { username: 'alice', password: 'alice-pw', email: 'alice@example.org', groups: ['users'] },
  { username: 'bob', password: 'bob-pw', email: 'bob@example.org', groups: ['users', 'admins'] },
  { username: 'carol', password: 'carol-pw', email: 'carol@example.org', groups: [] },
];

// Loopback callback URLs on any port: the default clients are registered as oidc-provider
// "native" clients, for which loopback redirect URIs match regardless of port (RFC 8252 §7.3),
// so tests need not know nbhub's port before starting the IdP.
export const DEFAULT_REDIRECT_URIS = [
  'http://127.0.0.1/hub/oauth_callback',
  'http://localhost/hub/oauth_callback',
];

// Sign-out URLs for Cognito's /logout and RP-initiated logout (same any-port rule).
export const DEFAULT_LOGOUT_URIS = [
  'http://127.0.0.1/hub/login', 'http://127.0.0.1/hub/logout', 'http://127.0.0.1/hub/',
  'http://localhost/hub/login', 'http://localhost/hub/logout', 'http://localhost/hub/',
];

export const CUSTOS_CLIENT_ID = 'custos-abc123-10000000';

function defaultClients(redirectUris, logoutUris) {
  const anyPort = redirectUris === DEFAULT_REDIRECT_URIS ? 'native' : 'web';
  return [
    {
      // oidc-provider registers one token_endpoint_auth_method per client but accepts
      // client_secret_basic and client_secret_post interchangeably for secret-holding
      // clients, so one client serves both methods.
      client_id: 'nbhub-test',
      client_secret: 'nbhub-test-secret',
      redirect_uris: redirectUris,
      logout_uris: logoutUris,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      application_type: anyPort,
    },
    {
      client_id: 'svc-client',
      client_secret: 'svc-secret',
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: 'nbhub/api',
    },
    {
      client_id: CUSTOS_CLIENT_ID,
      client_secret: 'custos-secret',
      redirect_uris: redirectUris,
      logout_uris: logoutUris,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      application_type: anyPort,
    },
  ];
}

function usage(message) {
  const text = `${message ? `error: ${message}\n` : ''}usage: node tests/idp/server.mjs `
    + '[--config FILE.json] [--mode generic|cognito|custos] [--port N] [--redirect-uri URI]...';
  process.stderr.write(`${text}\n`);
  process.exit(2);
}

export function parseArgs(argv) {
  const out = { redirectUris: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (arg) {
      case '--config': out.config = value(); break;
      case '--mode': out.mode = value(); break;
      case '--port': out.port = Number(value()); break;
      case '--redirect-uri': out.redirectUris.push(value()); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${arg}`);
    }
  }
  return out;
}

function normalizeGroup(g) {
  // Groups are names (what cognito:groups carries); Custos matches on ids, so a group may be
  // given as {id, name} when the two must differ.
  return typeof g === 'string' ? { id: g, name: g } : { id: String(g.id ?? g.name), name: String(g.name ?? g.id) };
}

function normalizeUser(u) {
  if (!u.username || u.password === undefined) throw new Error('every user needs username and password');
  const first = u.given_name ?? u.username.charAt(0).toUpperCase() + u.username.slice(1);
  const last = u.family_name ?? 'Tester';
  return {
    username: u.username,
    password: String(u.password),
    email: u.email ?? `${u.username}@example.org`,
    email_verified: u.email_verified ?? true,
    sub: u.sub ?? uuidFor(u.username),
    given_name: first,
    family_name: last,
    name: u.name ?? `${first} ${last}`,
    groups: (u.groups ?? []).map(normalizeGroup),
    // More claims in the ID token and userinfo, verbatim (CILogon's `idp`, `eppn`, ...).
    claims: u.claims ?? {},
  };
}

function positive(value, key) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${key} must be a positive integer`);
  return n;
}

export function loadConfig(args) {
  const file = args.config ? JSON.parse(readFileSync(args.config, 'utf8')) : {};
  const mode = args.mode ?? file.mode ?? 'generic';
  if (!MODES.includes(mode)) throw new Error(`mode must be one of ${MODES.join(', ')}`);

  const redirectUris = args.redirectUris.length ? args.redirectUris
    : (file.redirect_uris?.length ? file.redirect_uris : DEFAULT_REDIRECT_URIS);

  const logoutUris = file.logout_uris ?? DEFAULT_LOGOUT_URIS;

  const clients = (file.clients ?? defaultClients(redirectUris, logoutUris)).map((c) => ({
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    ...c,
    redirect_uris: c.redirect_uris ?? (c.grant_types?.includes('authorization_code') === false ? [] : redirectUris),
  }));

  return {
    mode,
    host: file.host ?? '127.0.0.1',
    port: args.port ?? file.port ?? 0,
    users: (file.users ?? DEFAULT_USERS).map(normalizeUser),
    clients,
    accessTokenTtl: positive(file.access_token_ttl ?? 3600, 'access_token_ttl'),
    idTokenTtl: positive(file.id_token_ttl ?? 3600, 'id_token_ttl'),
    refreshTokenTtl: positive(file.refresh_token_ttl ?? 30 * 24 * 3600, 'refresh_token_ttl'),
    rotateRefreshTokens: Boolean(file.rotate_refresh_tokens ?? false),
    // Cognito access tokens carry no `aud`; elsewhere the client id is the audience.
    accessTokenAud: Boolean(file.access_token_aud ?? mode !== 'cognito'),
    extraScopes: file.extra_scopes ?? [],
  };
}
