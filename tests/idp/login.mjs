// The interaction (login) pages: a plain HTML form that works without JavaScript, so both a
// cookie-jar HTTP client and a real browser can sign in. There is no consent page: every
// configured client is treated as first-party (see loadExistingGrant in provider.mjs).
import {
  chain, htmlEscape, readForm, route,
} from './http.mjs';

function loginPage({ uid, clientId, username = '', error }) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - nbhub test IdP</title></head>
<body>
  <h1>Sign in</h1>
  <p>to <code>${htmlEscape(clientId)}</code></p>
  ${error ? `<p id="error" role="alert" class="error">${htmlEscape(error)}</p>` : ''}
  <form method="post" action="/interaction/${htmlEscape(uid)}/login" autocomplete="off">
    <label for="username">Username</label>
    <input id="username" name="username" type="text" value="${htmlEscape(username)}" autofocus required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" required>
    <button type="submit" id="submit">Sign in</button>
  </form>
</body>
</html>`;
}

function renderLogin(ctx, status, args) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = loginPage(args);
}

// Missing or stale interaction cookies are the usual cause (e.g. a client that drops cookies).
async function withInteraction(ctx, provider, fn) {
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    ctx.status = 400;
    ctx.type = 'text/plain';
    ctx.body = `login interaction not found: ${err.error_description ?? err.message} (are cookies kept?)`;
    return;
  }
  await fn(details);
}

async function finish(ctx, provider, result) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

// Consent is normally granted in loadExistingGrant; this covers a consent prompt that the
// library raises anyway (e.g. prompt=consent), by granting what was asked.
async function grantConsent(ctx, provider, details) {
  const { Grant } = provider;
  const grant = (details.grantId && await Grant.find(details.grantId))
    ?? new Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope ?? 'openid');
  const grantId = await grant.save();
  await finish(ctx, provider, { consent: { grantId } });
}

export function loginRoutes(provider, config) {
  const byName = new Map(config.users.map((u) => [u.username, u]));
  return chain([
    route('GET', /^\/interaction\/([\w-]+)$/, (ctx, _next, uid) => withInteraction(ctx, provider, async (details) => {
      if (details.uid !== uid) {
        ctx.status = 400;
        ctx.body = 'interaction mismatch';
      } else if (details.prompt.name === 'login') {
        renderLogin(ctx, 200, { uid, clientId: details.params.client_id });
      } else {
        await grantConsent(ctx, provider, details);
      }
    })),
    route('POST', /^\/interaction\/([\w-]+)\/login$/, (ctx, _next, uid) => withInteraction(ctx, provider, async (details) => {
      const form = await readForm(ctx);
      const user = byName.get(form.username ?? '');
      if (!user || user.password !== form.password) {
        // Re-render with the error (status 200, like common IdP login pages).
        renderLogin(ctx, 200, {
          uid, clientId: details.params.client_id, username: form.username, error: 'Incorrect username or password.',
        });
        return;
      }
      await finish(ctx, provider, { login: { accountId: user.sub } });
    })),
  ]);
}
