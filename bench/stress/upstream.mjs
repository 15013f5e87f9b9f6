// The upstream behind both proxies in bench/stress, and its paced WebSocket client.
//
//   node upstream.mjs server PORT
//     GET /stress/small          a 2-byte body ("ok"): the normal requests (any path ending in /small)
//     GET /stress/big?bytes=N    N zero bytes with a Content-Length, written as the reader takes them
//     PUT|POST /stress/sink      reads the whole body, answers {"bytes": <count>}
//     WebSocket /stress/ws       echoes every message
//   node upstream.mjs ws-paced URL CONNS SECONDS BYTES
//     opens CONNS WebSockets (a kernel's: idle but for one message a second), prints "ready"
//     once all are open, then each sends a BYTES-long message every second (spread over the
//     second) for SECONDS and the round trips are timed; prints one JSON line: messages sent
//     and echoed, errors, p50/p99/max round trip in ms.
//
// Uses the `ws` package from tests/node_modules. Loopback only.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/package.json'));
const { WebSocket, WebSocketServer } = require('ws');

const [mode, ...args] = process.argv.slice(2);
const MAX_BIG = 8 * 1024 ** 3;  // a bound on ?bytes=, so a typo cannot stream forever

function serve(port) {
  const zeros = Buffer.alloc(1 << 20);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.endsWith('/small')) {  // any route's prefix before it (the routes row)
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 });
      res.end('ok');
    } else if (url.pathname === '/stress/big') {
      let left = Math.min(MAX_BIG, Number(url.searchParams.get('bytes') || 0));
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': left });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, zeros.length);
          left -= n;
          if (!res.write(n === zeros.length ? zeros : zeros.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => { left = 0; });
      pump();
    } else if (url.pathname === '/stress/sink') {
      let bytes = 0;
      req.on('data', (d) => { bytes += d.length; });
      req.on('end', () => {
        const body = JSON.stringify({ bytes });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
        res.end(body);
      });
    } else {
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
    }
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;  // a 1 GB upload takes as long as it takes
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  });
  server.listen(port, '127.0.0.1', () => console.log(`upstream listening on 127.0.0.1:${port}`));
}

async function paced(url, conns, seconds, bytes) {
  const payload = Buffer.alloc(bytes, 0x61);
  const sockets = [];
  let errors = 0;
  // Opened in batches so that the accept queues of neither proxy overflow.
  for (let i = 0; i < conns; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(conns, i + 100); ++j) {
      batch.push(new Promise((resolve) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.on('open', () => { sockets.push(ws); resolve(); });
        ws.on('error', () => { ++errors; resolve(); });
      }));
    }
    await Promise.all(batch);
  }
  console.log(`ready ${sockets.length}`);
  const rtts = [];
  let sent = 0;
  const timers = [];
  sockets.forEach((ws, i) => {
    const pending = [];
    ws.on('message', () => {
      const t = pending.shift();
      if (t !== undefined) rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
    });
    ws.on('close', () => { ++errors; });
    const send = () => {
      pending.push(process.hrtime.bigint());
      ++sent;
      ws.send(payload, { binary: true });
    };
    // Spread over the second: 1,000 kernels do not all speak at the same instant.
    timers.push(setTimeout(() => { send(); timers.push(setInterval(send, 1000)); },
                           Math.floor((i * 1000) / sockets.length)));
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  timers.forEach((t) => clearInterval(t));
  await new Promise((r) => setTimeout(r, 500));  // the last echoes
  rtts.sort((a, b) => a - b);
  const q = (p) => (rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] : NaN);
  const closing = errors;
  console.log(JSON.stringify({ open: sockets.length, sent, echoed: rtts.length, errors: closing,
                               p50_ms: q(0.5), p99_ms: q(0.99), max_ms: rtts.length ? rtts[rtts.length - 1] : NaN }));
  sockets.forEach((ws) => ws.terminate());
  process.exit(0);
}

if (mode === 'server') {
  serve(Number(args[0]));
} else if (mode === 'ws-paced') {
  paced(args[0], Number(args[1]), Number(args[2]), Number(args[3]));
} else {
  console.error('usage: upstream.mjs server PORT | ws-paced URL CONNS SECONDS BYTES');
  process.exit(2);
}
