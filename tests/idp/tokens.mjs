// Cognito-shaped JWT access tokens around oidc-provider's opaque ones.
//
// Why a facade: oidc-provider can format access tokens as JWTs only for a resource server, and
// such tokens (a) always carry `aud` (it throws if a formatting hook removes it), (b) are not
// stored, so its userinfo endpoint cannot look them up, and (c) are refused at userinfo because
// of that `aud`. Cognito's access token is a JWT without `aud` that *is* accepted at userInfo.
// So the library keeps issuing, storing, expiring and revoking its opaque token, and this module
// swaps it for a signed JWT in the token response and swaps it back on the way into userinfo.
import { createHash, randomUUID } from 'node:crypto';

import {
  KID_ACCESS_TOKEN, decode, looksLikeJwt, signRs256,
} from './jwt.mjs';

const MAX_ENTRIES = 5000;

export class AccessTokenFacade {
  #provider;
  #config;
  #keys;
  #opaqueByJwt = new Map();

  constructor(provider, config, keys) {
    this.#provider = provider;
    this.#config = config;
    this.#keys = keys;
  }

  // Rewrites a successful token response in place. Tokens it does not know (none, so far)
  // are left alone.
  async wrap(body) {
    const opaque = body.access_token;
    if (typeof opaque !== 'string' || looksLikeJwt(opaque)) return;

    const { AccessToken, ClientCredentials } = this.#provider;
    const token = (await AccessToken.find(opaque)) ?? (await ClientCredentials.find(opaque));
    if (!token) return;

    const claims = token.accountId
      ? this.#userClaims(token, body.id_token)
      : await this.#clientClaims(token);
    const jwt = signRs256({ kid: KID_ACCESS_TOKEN }, claims, this.#keys.accessToken);

    this.#prune();
    this.#opaqueByJwt.set(jwt, { opaque, exp: token.exp });
    body.access_token = jwt;
    body.scope ??= claims.scope;
    if (body.id_token) body.id_token = this.#rehash(body.id_token, jwt);
  }

  // oidc-provider puts at_hash (of its opaque token) into the ID token; it must describe the
  // token the client actually receives, so recompute it and re-sign with the ID-token key.
  #rehash(idToken, accessToken) {
    const { header, payload } = decode(idToken);
    if (!payload.at_hash) return idToken;
    const digest = createHash('sha256').update(accessToken).digest();
    payload.at_hash = digest.subarray(0, digest.length / 2).toString('base64url');
    return signRs256(header, payload, this.#keys.idToken);
  }

  // The library's token for a JWT this facade issued, or undefined. An exact string match
  // doubles as signature verification: only what we signed is in the map.
  opaqueFor(jwt) {
    return this.#opaqueByJwt.get(jwt)?.opaque;
  }

  #base(token) {
    return {
      iss: this.#provider.issuer,
      client_id: token.clientId,
      token_use: 'access',
      iat: token.iat,
      exp: token.exp,
      jti: randomUUID(),
      version: 2,
      ...(this.#config.accessTokenAud ? { aud: token.clientId } : {}),
    };
  }

  #userClaims(token, idToken) {
    const user = this.#config.users.find((u) => u.sub === token.accountId);
    const authTime = idToken ? decode(idToken).payload.auth_time : undefined;
    return {
      sub: token.accountId,
      ...(user?.groups.length ? { 'cognito:groups': user.groups.map((g) => g.name) } : {}),
      ...this.#base(token),
      scope: token.scope,
      auth_time: authTime ?? token.iat,
      username: user?.username,
    };
  }

  // Client-credentials tokens: sub == client_id and, when no scope was asked for, all the
  // client's registered scopes (Cognito grants every associated custom scope then).
  async #clientClaims(token) {
    const client = await this.#provider.Client.find(token.clientId);
    return {
      sub: token.clientId,
      ...this.#base(token),
      scope: token.scope ?? client?.scope,
      auth_time: token.iat,
    };
  }

  #prune() {
    if (this.#opaqueByJwt.size < MAX_ENTRIES) return;
    const now = Date.now() / 1000;
    for (const [jwt, { exp }] of this.#opaqueByJwt) {
      if (exp < now) this.#opaqueByJwt.delete(jwt);
    }
  }
}
