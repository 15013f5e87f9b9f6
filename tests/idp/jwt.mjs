// Signing keys and a minimal JWS (compact) encoder/decoder on node:crypto.
//
// The IdP holds its own private keys (instead of letting oidc-provider generate them) because
// the access-token facade and the fault switchboard must sign tokens with exactly the keys the
// JWKS publishes. Only RS256 is ever signed here; the ES256 key is published so that relying
// parties see a mixed-algorithm JWKS, as many real providers have.
import { createHash, generateKeyPairSync, createPrivateKey, sign } from 'node:crypto';

// Kids are stable names rather than thumbprints so test failures read well.
export const KID_ID_TOKEN = 'idp-rs256-id';
export const KID_ACCESS_TOKEN = 'idp-rs256-at';
export const KID_EC = 'idp-es256';

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

function ecJwk(kid) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
}

// Order matters: oidc-provider signs RS256 ID tokens with the first RS256 key in its keystore,
// so the ID-token key comes first. Access tokens use a second RSA key, as Cognito does
// ("signed with a different kid than ID tokens").
export function generateSigningKeys() {
  return {
    idToken: rsaJwk(KID_ID_TOKEN),
    accessToken: rsaJwk(KID_ACCESS_TOKEN),
    ec: ecJwk(KID_EC),
  };
}

export function privateJwks(keys) {
  return { keys: [keys.idToken, keys.accessToken, keys.ec] };
}

// A further ID-token key for POST /__test/keys/rotate, kid `idp-rs256-id-<n>`.
export function rotatedIdTokenKey(n) {
  return rsaJwk(`${KID_ID_TOKEN}-${n}`);
}

// The public half of one of our JWKs, as a JWKS publishes it.
export function publicJwk(jwk) {
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return pub;
}

// A key the JWKS does not contain, for the bad_signature fault; made once, on first use.
let rogue;
export function rogueRsaJwk() {
  rogue ??= rsaJwk('rogue');
  return rogue;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function signRs256(header, payload, jwk) {
  const input = `${b64url(JSON.stringify({ ...header, alg: 'RS256' }))}.${b64url(JSON.stringify(payload))}`;
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

// Decodes without verifying: the callers only re-sign tokens this process issued itself.
export function decode(jwt) {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

export function looksLikeJwt(value) {
  return typeof value === 'string' && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value);
}

// Deterministic UUID-shaped subject from a username, so that `sub` is stable across runs
// (Cognito subjects are UUIDs).
export function uuidFor(name) {
  const h = createHash('sha256').update(`nbhub-test-idp:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
