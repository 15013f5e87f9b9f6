// Small Koa helpers for the IdP's own routes (oidc-provider is a Koa app; we add middleware to
// it rather than pull in a router for a dozen paths).

const MAX_BODY_BYTES = 64 * 1024;

export async function readBody(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readForm(ctx) {
  return Object.fromEntries(new URLSearchParams(await readBody(ctx)));
}

export async function readJson(ctx) {
  const text = await readBody(ctx);
  return text ? JSON.parse(text) : {};
}

export function sendJson(ctx, status, value) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(value);
}

// Relays a fetch() Response verbatim, so injected faults (broken JSON, 500s) reach the caller
// of a gateway endpoint unchanged.
export async function relay(ctx, res) {
  ctx.status = res.status;
  ctx.type = res.headers.get('content-type') ?? 'text/plain';
  ctx.body = await res.text();
}

export function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Koa middleware that handles `method path` when the path matches `pattern` (a string, or a
// RegExp whose groups become arguments after `next`) and passes everything else on.
export function route(method, pattern, handler) {
  return async (ctx, next) => {
    if (method !== '*' && ctx.method !== method) return next();
    const m = typeof pattern === 'string' ? (ctx.path === pattern && [ctx.path]) : pattern.exec(ctx.path);
    if (!m) return next();
    return handler(ctx, next, ...m.slice(1));
  };
}

// Several middlewares as one: each handler that does not match falls through to the next.
export function chain(handlers) {
  return (ctx, next) => {
    const run = (i) => (i === handlers.length ? next() : handlers[i](ctx, () => run(i + 1)));
    return run(0);
  };
}
