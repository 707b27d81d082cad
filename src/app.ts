// Builds the HTTP request listener from its collaborators — the Express app for the service's own
// routes, the forwarder for everything else — and never listens (see server.ts).

import type { IncomingMessage, RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import express from 'express';
import type { Logger } from 'pino';
import { isLoopback, type Config } from './config.ts';
import type { BalanceService } from './domain/balance-service.ts';
import type { Snapshot } from './domain/change.ts';
import type { JournalEntry } from './domain/ports.ts';
import { answerClientError, refuseConnect } from './front/client-error.ts';
import { Forwarder } from './front/forward.ts';
import { frontDoor } from './front/front-door.ts';
import { UpstreamProbe } from './front/upstream-probe.ts';
import { cors, loopbackNamesOnly, refuseCrossSiteChanges } from './http/access.ts';
import { balanceRoutes } from './http/balance-routes.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { EventStream } from './http/events.ts';
import { openApiRoutes } from './http/openapi.ts';
import { operatorPage } from './http/operator-page.ts';
import { ownRoutes } from './http/own-routes.ts';
import { balanceBody, Representations } from './http/representations.ts';
import type { Metrics } from './metrics/metrics.ts';
import { metricsRoutes } from './metrics/metrics-route.ts';

export interface AppDeps {
  balance: BalanceService;
  history: { recent(limit: number): Promise<JournalEntry[]> };
  logger: Logger;
  /** Already watching `balance` (from before it opened, to count start-up). */
  metrics: Metrics;
  config: Pick<Config, 'API_TOKEN' | 'CORS_ORIGINS'> & Partial<Pick<Config, 'HOST' | 'UPSTREAM_URL' | 'UPSTREAM_TIMEOUT_MS'>>;
  heartbeatMs?: number;
}

export interface App {
  /** The HTTP server's request listener. */
  app: RequestListener;
  /** The HTTP server's `clientError` and `connect` listeners: an answer in the envelope, never silence. */
  clientError: ReturnType<typeof answerClientError>;
  connect: typeof refuseConnect;
  /** For the HTTP server's `upgrade` event: WebSockets go to the legacy backend, anything else is answered as HTTP. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Ends the event streams, own and forwarded, and forwarded WebSockets; the HTTP server is the caller's to close. */
  close(): void;
}

export function createApp({ balance, history, logger, metrics, config, heartbeatMs }: AppDeps): App {
  const representations = new Representations(balance);
  const events = new EventStream(
    heartbeatMs,
    (count) => metrics.eventStreamClients(count),
    (unsentBytes) => logger.warn({ unsentBytes }, 'dropped an event-stream client that stopped reading; it may reconnect'),
  );
  // After the change's own answer: a thousand streams take milliseconds to write, and the writer
  // should not wait for them. Each event carries the balance of its own change.
  const publish = (snapshot: Snapshot) => {
    if (events.size > 0) setImmediate(() => events.publish(balanceBody(snapshot), snapshot.revision));
  };
  balance.on('change', publish);

  const upstreamUrl = config.UPSTREAM_URL;
  const forwarder =
    upstreamUrl &&
    new Forwarder({
      target: upstreamUrl,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS ?? 30_000,
      afterChange: () => balance.sync(),
      observe: (status, seconds) => metrics.forwarded(status, seconds),
      log: logger,
    });
  const upstream = upstreamUrl ? new UpstreamProbe(upstreamUrl) : undefined;

  // Own routes answer whatever the upstream defines at the same paths, and whatever the method.
  const own = ownRoutes(
    { ...balanceRoutes({ balance, history, representations, events, apiToken: config.API_TOKEN, upstream }), ...metricsRoutes(metrics), ...openApiRoutes() },
    cors(config.CORS_ORIGINS),
    { '/balance-sync': operatorPage() },
  );

  // Only requests the front door has claimed get here, with their canonical URL.
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(loopbackNamesOnly(isLoopback(config.HOST ?? '127.0.0.1')));
  app.use(refuseCrossSiteChanges(config.CORS_ORIGINS));
  app.use(own.router);
  app.use(notFound);
  app.use(errorHandler);

  const door = frontDoor({ claim: own.claim, own: app, ...(forwarder && { forwarder }), logger });
  return {
    app: door.request,
    upgrade: door.upgrade,
    clientError: answerClientError(logger),
    connect: refuseConnect,
    close() {
      balance.off('change', publish);
      events.close();
      door.close();
    },
  };
}
