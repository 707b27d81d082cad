// A reference, not a baseline: the least an undici proxy can be — every request streamed to the
// upstream through one kept-alive Pool, the answer streamed back. No checks, no logs, no safety (no
// framing of its own, no per-client connections). It shows what undici alone gains over node:http's
// client on this machine, the ceiling that the forwarding row's ratio is read against.

import { createServer, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { listenForBench } from './listen.ts';

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8002';
const pool = new Pool(upstream, { connections: 64, pipelining: 1 });
// The request headers undici refuses to take from a caller (it frames the request itself).
const REFUSED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'host']);

const server = createServer((req, res) => {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !REFUSED.has(name)) headers[name] = value;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool
    .stream({ path: req.url ?? '/', method: req.method as 'GET', headers, body: hasBody ? req : null, opaque: res }, ({ statusCode, headers: answer, opaque }) => {
      const out = opaque as ServerResponse;
      out.writeHead(statusCode, answer as Record<string, string>);
      return out;
    })
    .catch(() => res.destroy());
});
listenForBench(server, () => pool.close());
