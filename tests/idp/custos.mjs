// Custos-like mode: Keycloak-style realm paths in front of the standard endpoints, and the
// Custos REST gateway (spec/auth.md §3.1). The gateway endpoints are thin adapters: they check
// Custos' "Bearer base64(client_id:client_secret)" header, then call the provider's real token
// and userinfo endpoints over loopback HTTP, so injected faults and real token checks apply.
import { INTERNAL_HEADER } from './faults.mjs';
import {
  chain, relay, route, sendJson,
} from './http.mjs';

const GATEWAY = '/apiserver';
const REALM = /^\/auth\/realms\/([^/]+)\/protocol\/openid-connect\/(auth|token|userinfo|certs|logout)$/;

// Tenant id = last '-' segment of the client id: custos-abc123-10000000 → 10000000.
export const tenantOf = (clientId) => String(clientId ?? '').split('-').at(-1);

// grpc-gateway error body, as the Custos REST gateway returns it.
const grpcError = (ctx, status, code, message) => sendJson(ctx, status, { code, message, details: [] });

// The client named by "Authorization: Bearer base64(client_id:client_secret)", or undefined.
function pairClient(ctx, clients) {
  const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!m) return undefined;
  const pair = Buffer.from(m[1], 'base64').toString('utf8');
  const i = pair.indexOf(':');
  if (i < 0) return undefined;
  const client = clients.find((c) => c.client_id === pair.slice(0, i));
  return client && client.client_secret === pair.slice(i + 1) ? client : undefined;
}

export function custosRoutes({
  config, routes, issuer, board, internalSecret,
}) {
  const requireClient = (ctx) => {
    const client = pairClient(ctx, config.clients);
    if (!client) grpcError(ctx, 401, 16, 'invalid client credentials in Authorization header');
    return client;
  };

  // Keycloak realm paths → the provider's own routes (rewritten in place, query kept).
  const realmAlias = route('*', REALM, (ctx, next, tenant, endpoint) => {
    if (endpoint === 'auth' && tenantOf(ctx.query.client_id) !== tenant) {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = `client ${ctx.query.client_id} does not belong to realm ${tenant}`;
      return undefined;
    }
    const target = {
      auth: 'authorization', token: 'token', userinfo: 'userinfo', certs: 'jwks', logout: 'end_session',
    }[endpoint];
    ctx.path = routes[target];
    return next();
  });

  const token = route('POST', `${GATEWAY}/identity-management/v1.0.0/token`, async (ctx) => {
    const client = requireClient(ctx);
    if (!client) {
      board.record(ctx, null, ctx.status);
      return;
    }
    const q = ctx.query;
    if ((q.client_id && q.client_id !== client.client_id) || (q.client_secret && q.client_secret !== client.client_secret)) {
      grpcError(ctx, 401, 16, 'client_id/client_secret in the query do not match the Authorization header');
      board.record(ctx, null, ctx.status);
      return;
    }
    // Everything but the client credentials goes to the real token endpoint; a PKCE verifier is
    // forwarded when given (the Custos authenticator sends none, so nbhub must not send a
    // code_challenge either, or must add code_verifier to this query).
    const form = new URLSearchParams();
    for (const k of ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope']) {
      if (q[k] !== undefined) form.set(k, q[k]);
    }
    const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
    const res = await fetch(new URL(routes.token, issuer), {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        [INTERNAL_HEADER]: internalSecret,
      },
      body: form,
    });
    await relay(ctx, res);
    board.record(ctx, null, ctx.status);
  });

  const user = route('GET', `${GATEWAY}/identity-management/v1.0.0/user`, async (ctx) => {
    const client = requireClient(ctx);
    if (!client) return;
    if (!ctx.query.access_token) {
      grpcError(ctx, 400, 3, 'access_token query parameter is required');
      return;
    }
    const res = await fetch(new URL(routes.userinfo, issuer), {
      headers: { authorization: `Bearer ${ctx.query.access_token}` },
    });
    const text = await res.text();
    let info;
    try {
      info = res.ok ? JSON.parse(text) : undefined;
    } catch {
      info = undefined; // a malformed_json fault: relay it untouched below
    }
    if (!info) {
      ctx.status = res.status;
      ctx.type = res.headers.get('content-type') ?? 'text/plain';
      ctx.body = text;
      return;
    }
    // The Custos User message (IdentityService.proto).
    sendJson(ctx, 200, {
      sub: info.sub,
      full_name: info.name,
      first_name: info.given_name,
      last_name: info.family_name,
      email_address: info.email,
      username: info.username ?? info.preferred_username,
      client_id: client.client_id,
    });
  });

  const memberships = route('GET', `${GATEWAY}/group-management/v1.0.0/user/group/memberships`, (ctx) => {
    if (!requireClient(ctx)) return;
    const name = ctx.query['profile.username'];
    const found = config.users.find((u) => u.username === name);
    if (!found) {
      grpcError(ctx, 404, 5, `user ${name} not found`);
      return;
    }
    sendJson(ctx, 200, { groups: found.groups.map((g) => ({ id: g.id, name: g.name })) });
  });

  return chain([realmAlias, token, user, memberships]);
}
