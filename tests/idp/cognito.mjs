// Cognito's hosted-UI logout (spec/auth.md §4.5): GET /logout?client_id=…&logout_uri=…
// ends the IdP browser session and redirects to a registered sign-out URL. It is not OIDC
// RP-initiated logout and revokes no tokens, like Cognito.
import { route } from './http.mjs';

const LOOPBACKS = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Exact match, or for "native" clients a loopback URL on any port (the same RFC 8252 rule
// oidc-provider applies to their redirect URIs, but not to sign-out URLs).
function signOutUrlAllowed(client, value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const allowed = client.postLogoutRedirectUris ?? [];
  if (allowed.includes(url.href)) return true;
  if (client.applicationType !== 'native' || url.protocol !== 'http:' || !LOOPBACKS.has(url.hostname)) return false;
  url.port = '';
  return allowed.some((a) => {
    const reg = new URL(a);
    reg.port = '';
    return reg.href === url.href;
  });
}

function fail(ctx, message) {
  ctx.status = 400;
  ctx.type = 'text/plain';
  ctx.body = message;
}

export function cognitoLogout(provider, routes) {
  return route('GET', '/logout', async (ctx) => {
    const { client_id: clientId, logout_uri: logoutUri, redirect_uri: redirectUri } = ctx.query;
    const client = clientId && await provider.Client.find(String(clientId));
    if (!client) return fail(ctx, 'invalid client_id');
    if (!logoutUri && !redirectUri) return fail(ctx, 'Required parameters missing');
    if (logoutUri && !signOutUrlAllowed(client, logoutUri)) return fail(ctx, 'Invalid logout_uri (not a registered sign-out URL)');

    const session = await provider.Session.get(ctx);
    await session.destroy();

    if (logoutUri) {
      ctx.redirect(logoutUri);
    } else {
      // redirect_uri form: back to the login page with the remaining authorize parameters.
      const url = new URL(routes.authorization, provider.issuer);
      for (const [k, v] of Object.entries(ctx.query)) url.searchParams.set(k, v);
      ctx.redirect(url.href);
    }
    return undefined;
  });
}
