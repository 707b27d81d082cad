// A stand-in legacy backend for the forwarding rows: plain node:http answering `GET /trades/recent`
// from memory with a small JSON body like the legacy backend's, so the figure is the forwarding's.

import { createServer } from 'node:http';
import { listenForBench } from './listen.ts';

const trades = Array.from({ length: 5 }, (_, i) => ({
  id: 8812 + i,
  symbol: 'BTCUSDT',
  side: i % 2 ? 'sell' : 'buy',
  qty: 0.015,
  price: 64_250.5 + i,
  pnl: i % 2 ? 12.34 : -3.21,
  closed_at: '2026-11-23T10:00:00+00:00',
}));
const body = Buffer.from(JSON.stringify({ status: 'success', trades }));
const notFound = Buffer.from(JSON.stringify({ detail: 'Not Found' }));

// Connections that carried forwarded requests (X-Forwarded-For): keep-alive works when they stay few.
const forwardingSockets = new WeakSet<object>();
const forwarded = { connections: 0, requests: 0 };
const server = createServer((req, res) => {
  if (req.url === '/_upstream/forwarded') return void res.end(JSON.stringify(forwarded));
  if (req.headers['x-forwarded-for'] !== undefined) {
    forwarded.requests++;
    if (!forwardingSockets.has(req.socket)) forwarded.connections++;
    forwardingSockets.add(req.socket);
  }
  const found = req.method === 'GET' && req.url === '/trades/recent';
  res.writeHead(found ? 200 : 404, { 'content-type': 'application/json', 'content-length': (found ? body : notFound).length });
  res.end(found ? body : notFound);
});
listenForBench(server);
