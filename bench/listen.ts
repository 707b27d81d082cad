// How the bench's helper servers (the stand-in upstream, the minimal proxies) start and stop: on the
// port given (or a free one), saying which on stdout as the service does, and gone at SIGTERM.

import type { Server } from 'node:http';

export function listenForBench(server: Server, beforeExit: () => Promise<void> = async () => {}): void {
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ msg: 'listening', port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close(() => void beforeExit().then(() => process.exit(0)));
    server.closeAllConnections();
  });
}
