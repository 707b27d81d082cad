// The forwarding baseline: the least a pooled node:http proxy can be — every request piped to the
// upstream on a kept-alive agent, the answer piped back. No checks, no logs, no safety.

import { Agent, createServer, request } from 'node:http';
import { listenForBench } from './listen.ts';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8002');
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const forwarded = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forwarded.on('error', () => res.destroy());
  req.pipe(forwarded);
});
listenForBench(server);
