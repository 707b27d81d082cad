// Builds the Express app from its collaborators; it never listens (see server.ts).

import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { BalanceService } from './domain/balance-service.ts';
import type { JournalEntry } from './domain/ports.ts';
import { cors } from './http/access.ts';
import { balanceRoutes } from './http/balance-routes.ts';
import { errorHandler, NotFoundError, notFound } from './http/errors.ts';
import { EventStream } from './http/events.ts';
import { openApiRoute } from './http/openapi.ts';
import { operatorPage } from './http/operator-page.ts';
import { Representations } from './http/representations.ts';
import { requestLog } from './http/request-log.ts';

export interface AppDeps {
  balance: BalanceService;
  history: { recent(limit: number): Promise<JournalEntry[]> };
  logger: Logger;
  config: Pick<Config, 'API_TOKEN' | 'CORS_ORIGINS'>;
  heartbeatMs?: number;
}

export interface App {
  app: Express;
  /** Ends the event streams; the HTTP server is the caller's to close. */
  close(): void;
}

export function createApp({ balance, history, logger, config, heartbeatMs }: AppDeps): App {
  const representations = new Representations(balance);
  const events = new EventStream(heartbeatMs);
  const publish = () => events.size > 0 && events.publish(representations.balance().body, balance.snapshot().revision);
  balance.on('change', publish);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(logger));
  app.use(cors(config.CORS_ORIGINS));
  // CORS preflights are answered above; any other OPTIONS would get the router's plain-text method list.
  app.use((req, _res, next) => next(req.method === 'OPTIONS' ? new NotFoundError(req.method, req.path) : undefined));
  // Legacy clients post JSON without a JSON Content-Type (curl -d): parse every body as JSON.
  app.use(express.json({ type: () => true, limit: '16kb', strict: false }));
  app.use(balanceRoutes({ balance, history, representations, events, apiToken: config.API_TOKEN }));
  app.use(openApiRoute());
  app.use(operatorPage());
  app.use(notFound);
  app.use(errorHandler);

  return {
    app,
    close() {
      balance.off('change', publish);
      events.close();
    },
  };
}
