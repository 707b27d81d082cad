// Builds the HTTP request listener from its collaborators — the Express app for the service's own
// routes, the forwarder for everything else — and never listens (see server.ts).

import type { IncomingMessage, RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { BalanceService } from './domain/balance-service.ts';
import type { Snapshot } from './domain/change.ts';
import type { JournalEntry } from './domain/ports.ts';
import { cors } from './http/access.ts';
import { balanceRoutes } from './http/balance-routes.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { EventStream } from './http/events.ts';
import { createForwarder } from './http/forward.ts';
import { openApiRoutes } from './http/openapi.ts';
import { operatorPage } from './http/operator-page.ts';
import { ownRoutes } from './http/own-routes.ts';
import { balanceBody, Representations } from './http/representations.ts';
import { requestLog, requestLogger } from './http/request-log.ts';
import { originForm, requestTarget } from './http/request-target.ts';
import { answerOverHttp } from './http/upgrade.ts';
import { UpstreamProbe } from './http/upstream-probe.ts';
import type { Metrics } from './metrics/metrics.ts';
import { metricsRoutes } from './metrics/metrics-route.ts';

export interface AppDeps {
  balance: BalanceService;
  history: { recent(limit: number): Promise<JournalEntry[]> };
  logger: Logger;
  /** Already watching `balance` (from before it opened, to count start-up). */
  metrics: Metrics;
  config: Pick<Config, 'API_TOKEN' | 'CORS_ORIGINS'> & Partial<Pick<Config, 'UPSTREAM_URL' | 'UPSTREAM_TIMEOUT_MS'>>;
  heartbeatMs?: number;
}

export interface App {
  /** The HTTP server's request listener. */
  app: RequestListener;
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
    createForwarder({
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
  own.router.use(notFound);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(logger));
  app.use(requestTarget);
  app.use((req, res, next) => {
    const url = own.claim(req.url);
    if (url === null) return next();
    req.url = url;
    own.router(req, res, next);
  });
  app.use(notFound);
  app.use(errorHandler);

  // The front door. Everything the service does not own is the legacy backend's, forwarded untouched
  // (body unparsed, no CORS or token of ours) without entering the Express app at all.
  const logRequest = requestLogger(logger);
  const notOwned = (url: string | undefined) => {
    const target = originForm(url ?? '/');
    return target !== null && own.claim(target) === null ? target : null;
  };
  const frontDoor: RequestListener = forwarder
    ? (req, res) => {
        const target = notOwned(req.url);
        if (target === null) return void app(req, res);
        const id = logRequest(req, res, req.url ?? '/');
        req.url = target;
        forwarder.forward(req, res, id);
      }
    : app;

  return {
    app: frontDoor,
    upgrade(req, socket, head) {
      const target = forwarder && req.headers.upgrade?.toLowerCase() === 'websocket' ? notOwned(req.url) : null;
      if (forwarder && target !== null) {
        req.url = target;
        forwarder.upgrade(req, socket, head);
      } else answerOverHttp(req, socket, head);
    },
    close() {
      balance.off('change', publish);
      events.close();
      if (forwarder) forwarder.close();
    },
  };
}
