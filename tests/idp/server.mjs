#!/usr/bin/env node
// nbhub's bundled test OpenID Provider, on the npm package oidc-provider.
//
//   node tests/idp/server.mjs [--config FILE.json] [--mode generic|cognito|custos]
//                             [--port N] [--redirect-uri URI]...
//
// Listens on 127.0.0.1 only, prints one line {"ready":true,"issuer":...,"port":...} on stdout
// once it accepts requests, logs to stderr, exits on SIGTERM/SIGINT. See README.md.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { loadConfig, parseArgs } from './config.mjs';
import { cognitoLogout } from './cognito.mjs';
import { custosRoutes } from './custos.mjs';
import {
  Switchboard, jwksEndpoint, testRoutes, tokenEndpoint, userinfoEndpoint,
} from './faults.mjs';
import { generateSigningKeys } from './jwt.mjs';
import { loginRoutes } from './login.mjs';
import { createProvider, routesFor } from './provider.mjs';
import { AccessTokenFacade } from './tokens.mjs';

function listen(server, host, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

async function main() {
  const config = loadConfig(parseArgs(process.argv.slice(2)));
  const keys = generateSigningKeys();

  // The issuer must contain the port, so bind first and attach the handler afterwards.
  const server = createServer();
  const port = await listen(server, config.host, config.port);
  const issuer = `http://${config.host}:${port}`;

  const provider = createProvider(issuer, config, keys);
  const routes = routesFor(config.mode);
  const board = new Switchboard();
  const facade = new AccessTokenFacade(provider, config, keys);
  const internalSecret = randomBytes(16).toString('hex');

  // Order matters: path rewrites (custos) before the token/userinfo wrappers that match on path.
  provider.use(testRoutes(board));
  provider.use(loginRoutes(provider, config));
  if (config.mode === 'custos') {
    provider.use(custosRoutes({
      config, routes, issuer, board, internalSecret,
    }));
  }
  if (config.mode === 'cognito') provider.use(cognitoLogout(provider, routes));
  provider.use(tokenEndpoint(routes.token, board, facade, keys, internalSecret));
  provider.use(userinfoEndpoint(routes.userinfo, board, facade));
  provider.use(jwksEndpoint(routes.jwks, board));

  server.on('request', provider.callback());

  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.stderr.write(`idp: ${config.mode} mode at ${issuer} (users: ${config.users.map((u) => u.username).join(', ')}; `
    + `clients: ${config.clients.map((c) => c.client_id).join(', ')})\n`);
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`idp: failed to start: ${err.stack ?? err}\n`);
  process.exit(1);
});
