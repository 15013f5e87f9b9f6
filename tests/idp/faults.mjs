// Fault switchboard and token-request log for negative tests (the /__test/* routes).
//
// A fault stays on for every later request until reset, so a test can provoke the same
// failure through retries. The token and userinfo middlewares here sit in front of
// oidc-provider's own endpoints; everything that is not a fault goes through the real library.
import {
  decode, publicJwk, rogueRsaJwk, rotatedIdTokenKey, signRs256,
} from './jwt.mjs';
import {
  chain, readBody, readJson, route, sendJson, sleep,
} from './http.mjs';

// Faults answered without asking the library (the code is not consumed).
const TOKEN_SHORT_CIRCUIT = new Set(['http500', 'malformed_json', 'error_json']);
// Faults applied to the ID token of a real, successful response.
const ID_TOKEN_FAULTS = new Set(['bad_signature', 'wrong_nonce', 'wrong_audience', 'expired_id_token', 'no_id_token', 'no_sub']);

export const FAULTS = {
  token: new Set([...TOKEN_SHORT_CIRCUIT, ...ID_TOKEN_FAULTS, 'slow']),
  userinfo: new Set(['http500', 'malformed_json']),
};

export const SLOW_FAULT_MS = 30_000;
const MAX_LOG = 100;

export class Switchboard {
  faults = { token: null, userinfo: null };
  #requests = [];
  // ID-token keys added by POST /__test/keys/rotate, newest last. Not a fault: reset() keeps
  // them, as a provider keeps a key it once published.
  #rotated = [];

  // Publishes a new ID-token key and signs every later ID token with it; the older keys stay
  // in the JWKS (a provider announces the new key while tokens signed with the old one live).
  rotateIdTokenKey() {
    const key = rotatedIdTokenKey(this.#rotated.length + 2);
    this.#rotated.push(key);
    return key.kid;
  }

  // The key ID tokens are signed with now: the newest rotated one, else the startup key.
  idTokenKey(keys) {
    return this.#rotated.at(-1) ?? keys.idToken;
  }

  rotatedPublicKeys() {
    return this.#rotated.map(publicJwk);
  }

  // Applies {kind: fault|null, ...} all or nothing.
  update(changes) {
    for (const [kind, fault] of Object.entries(changes)) {
      if (!(kind in FAULTS)) throw new Error(`unknown fault kind ${kind}; known: token, userinfo`);
      if (fault !== null && !FAULTS[kind].has(fault)) {
        throw new Error(`unknown ${kind} fault ${fault}; known: ${[...FAULTS[kind]].join(', ')}`);
      }
    }
    Object.assign(this.faults, changes);
  }

  reset() {
    this.faults = { token: null, userinfo: null };
  }

  // One token-endpoint request as the client sent it. `form` is the parsed body, if any.
  record(ctx, form, status) {
    const headers = { ...ctx.headers };
    const auth = headers.authorization ?? '';
    let clientAuth = 'none';
    if (/^basic /i.test(auth)) clientAuth = 'client_secret_basic';
    else if (/^bearer /i.test(auth)) clientAuth = 'bearer_pair';
    else if (form?.client_secret) clientAuth = 'client_secret_post';
    this.#requests.push({
      time: new Date().toISOString(),
      method: ctx.method,
      path: ctx.path,
      query: Object.fromEntries(new URLSearchParams(ctx.querystring)),
      headers,
      content_type: ctx.get('content-type') || null,
      form: form ? { ...form } : null,
      client_auth: clientAuth,
      status,
    });
    if (this.#requests.length > MAX_LOG) this.#requests.shift();
  }

  requests() {
    return this.#requests;
  }

  clearRequests() {
    this.#requests = [];
  }
}

function answerShortCircuit(ctx, fault) {
  switch (fault) {
    case 'http500':
      ctx.status = 500;
      ctx.type = 'text/plain';
      ctx.body = 'Internal Server Error (injected fault)';
      break;
    case 'malformed_json':
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = '{"access_token": "truncated-by-fault", "token_type": "Bea';
      break;
    case 'error_json':
      sendJson(ctx, 400, { error: 'invalid_grant', error_description: 'injected fault: grant rejected' });
      break;
    default:
      throw new Error(`not a short-circuit fault: ${fault}`);
  }
}

// Signs the ID token of a successful token response with the current ID-token key (after a
// rotation, oidc-provider still signs with the startup key).
function signWithCurrentKey(body, key) {
  if (!body.id_token) return;
  const { header, payload } = decode(body.id_token);
  if (header.kid === key.kid) return;
  body.id_token = signRs256({ ...header, kid: key.kid }, payload, key);
}

// Re-signs or removes the ID token of a successful token response.
function tamperIdToken(body, fault, idKey) {
  if (!body.id_token) return;
  if (fault === 'no_id_token') {
    delete body.id_token;
    return;
  }
  const { header, payload } = decode(body.id_token);
  const now = Math.floor(Date.now() / 1000);
  let key = idKey;
  switch (fault) {
    case 'bad_signature': key = rogueRsaJwk(); break; // same kid (header kept), wrong key
    case 'wrong_nonce': payload.nonce = `not-${payload.nonce ?? 'a-nonce'}`; break;
    case 'wrong_audience': payload.aud = 'some-other-client'; break;
    case 'expired_id_token': payload.iat = now - 7200; payload.exp = now - 3600; break;
    case 'no_sub': delete payload.sub; break; // OIDC Core §2 makes it required
    default: return;
  }
  body.id_token = signRs256(header, payload, key);
}

// Requests from the Custos gateway to the token endpoint carry this header so they are not
// logged twice; its value is random per process.
export const INTERNAL_HEADER = 'x-nbhub-idp-internal';

export function tokenEndpoint(path, board, facade, keys, internalSecret) {
  return route('POST', path, async (ctx, next) => {
    const internal = ctx.get(INTERNAL_HEADER) === internalSecret;
    const fault = board.faults.token;
    let form;
    if (TOKEN_SHORT_CIRCUIT.has(fault)) {
      form = Object.fromEntries(new URLSearchParams(await readBody(ctx)));
      answerShortCircuit(ctx, fault);
    } else {
      if (fault === 'slow') await sleep(SLOW_FAULT_MS);
      await next();
      form = ctx.oidc?.body;
      if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
        await facade.wrap(ctx.body);
        signWithCurrentKey(ctx.body, board.idTokenKey(keys));
        if (ID_TOKEN_FAULTS.has(fault)) tamperIdToken(ctx.body, fault, board.idTokenKey(keys));
      }
    }
    if (!internal) board.record(ctx, form, ctx.status);
  });
}

export function userinfoEndpoint(path, board, facade) {
  return route('*', path, async (ctx, next) => {
    const fault = board.faults.userinfo;
    if (fault === 'http500') {
      ctx.status = 500;
      ctx.type = 'text/plain';
      ctx.body = 'Internal Server Error (injected fault)';
      return;
    }
    if (fault === 'malformed_json') {
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = '{"sub": "truncated-by-fault", "userna';
      return;
    }
    // Swap our JWT back for the library's opaque token (see tokens.mjs).
    const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
    const opaque = m && facade.opaqueFor(m[1]);
    if (opaque) ctx.req.headers.authorization = `Bearer ${opaque}`;
    await next();
  });
}

// The JWKS with the keys added by rotation.
export function jwksEndpoint(path, board) {
  return route('GET', path, async (ctx, next) => {
    await next();
    const extra = board.rotatedPublicKeys();
    if (ctx.status !== 200 || !extra.length) return;
    const body = typeof ctx.body === 'string' || Buffer.isBuffer(ctx.body) ? JSON.parse(ctx.body) : ctx.body;
    sendJson(ctx, 200, { ...body, keys: [...body.keys, ...extra] });
    ctx.type = 'application/jwk-set+json';
  });
}

// The /__test/* control routes.
export function testRoutes(board) {
  return chain([
    route('GET', '/__test/faults', (ctx) => sendJson(ctx, 200, board.faults)),
    route('POST', '/__test/faults', async (ctx) => {
      try {
        board.update(await readJson(ctx));
        sendJson(ctx, 200, board.faults);
      } catch (err) {
        sendJson(ctx, 400, { error: err.message });
      }
    }),
    route('POST', '/__test/faults/reset', (ctx) => {
      board.reset();
      sendJson(ctx, 200, board.faults);
    }),
    route('POST', '/__test/keys/rotate', (ctx) => sendJson(ctx, 200, { kid: board.rotateIdTokenKey() })),
    route('GET', '/__test/requests', (ctx) => sendJson(ctx, 200, { requests: board.requests() })),
    route('POST', '/__test/requests/reset', (ctx) => {
      board.clearRequests();
      sendJson(ctx, 200, { requests: [] });
    }),
    route('*', /^\/__test\//, (ctx) => sendJson(ctx, 404, { error: `no test route ${ctx.method} ${ctx.path}` })),
  ]);
}
