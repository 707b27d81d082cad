// The baseline: a bare Express 5 app serving the same JSON body from memory, nothing else.

import express from 'express';

const body = process.argv[2] ?? '{}';
const app = express();
app.get('/virtual_balance', (_req, res) => {
  res.type('application/json').send(body);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
