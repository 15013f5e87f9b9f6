// WebSocket echo for bench/proxy: `server PORT` echoes every message; `client URL CONNS
// SECONDS BYTES` keeps CONNS connections each doing back-to-back round trips of a BYTES-long
// binary message for SECONDS, then prints one JSON line: round trips per second and the
// p50/p99 round-trip time in milliseconds. Uses the `ws` package from tests/node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/package.json'));
const { WebSocket, WebSocketServer } = require('ws');

const [mode, ...args] = process.argv.slice(2);

if (mode === 'server') {
  const port = Number(args[0]);
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  wss.on('listening', () => console.log(`ws echo listening on 127.0.0.1:${port}`));
} else if (mode === 'client') {
  const [url, conns, seconds, bytes] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
  const payload = Buffer.alloc(bytes, 0x61);
  const rtts = [];
  let done = 0;
  const deadline = process.hrtime.bigint() + BigInt(seconds * 1e9);
  const started = process.hrtime.bigint();
  let finished = 0;
  const finish = () => {
    if (++finished < conns) return;
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    rtts.sort((a, b) => a - b);
    const q = (p) => (rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] : NaN);
    console.log(JSON.stringify({ round_trips: done, per_second: done / elapsed, p50_ms: q(0.5), p99_ms: q(0.99) }));
    process.exit(0);
  };
  for (let i = 0; i < conns; ++i) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let sent = 0n;
    const send = () => {
      if (process.hrtime.bigint() >= deadline) { ws.close(); return; }
      sent = process.hrtime.bigint();
      ws.send(payload, { binary: true });
    };
    ws.on('open', send);
    ws.on('message', () => {
      rtts.push(Number(process.hrtime.bigint() - sent) / 1e6);
      ++done;
      send();
    });
    ws.on('close', finish);
    ws.on('error', (e) => { console.error(`ws client: ${e.message}`); process.exit(1); });
  }
} else {
  console.error('usage: ws_echo.mjs server PORT | client URL CONNS SECONDS BYTES');
  process.exit(2);
}
