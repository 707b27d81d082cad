// The balance routes: the legacy paths and envelope, plus conditional requests, idempotency and history.

import { createHash } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { BalanceService } from '../domain/balance-service.ts';
import type { ChangeOp, ChangeRequest } from '../domain/change.ts';
import { PreconditionFailedError } from '../domain/errors.ts';
import type { JournalEntry } from '../domain/ports.ts';
import { requireBearer } from './access.ts';
import { canonicalJson } from './canonical-json.ts';
import { fromZod } from './errors.ts';
import type { EventStream } from './events.ts';
import { exactNumber, keepRawBody } from './exact-numbers.ts';
import { toJson } from './json.ts';
import type { RouteTable } from './own-routes.ts';
import { matchHits, noneMatchHits, revisionsNamed } from './conditional.ts';
import { balanceBody, etagOf, type Representation, type Representations } from './representations.ts';
import { balanceChangeSchema, historyQuerySchema, idempotencyKeySchema, resetSchema } from './schemas.ts';

export interface BalanceRoutesDeps {
  balance: BalanceService;
  history: { recent(limit: number): Promise<JournalEntry[]> };
  representations: Representations;
  events: EventStream;
  apiToken: string | undefined;
  /** Present when forwarding: /health says whether the legacy backend is reachable. */
  upstream?: { status(): Promise<object> };
}

/** The change as the client wrote it: an amount sent as a JSON number is taken from its digits (exact-numbers.ts). */
function withExactNumbers(req: Request, change: { op: ChangeOp; reason?: string }): { op: ChangeOp; reason?: string } {
  const { op } = change;
  // The same op back when the double held every digit, so that callers can tell.
  const exact = op.kind === 'set' ? exactNumber(req, 'balance', false) : op.kind === 'delta' ? exactNumber(req, 'delta', true) : undefined;
  if (exact === undefined) return change;
  if (op.kind === 'set' && exact !== op.balance) return { ...change, op: { ...op, balance: exact } };
  if (op.kind === 'delta' && exact !== op.delta) return { ...change, op: { ...op, delta: exact } };
  return change;
}

function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw fromZod(result.error, what);
  return result.data;
}

/** The polled path: headers and pre-encoded bytes straight to the socket, 304 when the client is current. */
function sendRepresentation(req: Request, res: Response, { bytes, etag }: Representation): void {
  // RFC 9110 §13.2.2: If-Match first (412 when it names another version), then If-None-Match.
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && !matchHits(ifMatch, etag)) throw new PreconditionFailedError();
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (noneMatchHits(req, etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

export function balanceRoutes({ balance, history, representations, events, apiToken, upstream }: BalanceRoutesDeps): RouteTable {
  const auth = requireBearer(apiToken);

  const change = (route: string, body: (req: Request) => { op: ChangeOp; reason?: string }): RequestHandler => async (req, res) => {
    const parsed = body(req);
    const { op, reason } = withExactNumbers(req, parsed);
    const request: ChangeRequest = { op, ...(reason !== undefined && { reason }) };
    const key = req.get('idempotency-key');
    if (key !== undefined) {
      // Two amounts one double cannot tell apart are two bodies: the exact one joins the fingerprint then (only then, so fingerprints stay as they were).
      const exact = op !== parsed.op ? `\n${JSON.stringify(op, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}` : '';
      const requestHash = createHash('sha256').update(`${route}\n${canonicalJson(req.body ?? {})}${exact}`).digest('base64url');
      request.idempotency = { key: parse(idempotencyKeySchema, key, 'Idempotency-Key header'), requestHash };
    }
    const ifMatch = req.get('if-match');
    const ifNoneMatch = req.get('if-none-match');
    if (ifMatch !== undefined || ifNoneMatch !== undefined) {
      request.precondition = {
        ...(ifMatch !== undefined && { ifMatch: revisionsNamed(ifMatch, 'strong') }),
        ...(ifNoneMatch !== undefined && { ifNoneMatch: revisionsNamed(ifNoneMatch, 'weak') }),
      };
    }
    const { snapshot, replayed } = await balance.submit(request);
    if (replayed) res.setHeader('Idempotency-Replayed', 'true');
    // The answer describes the balance this change produced (a replay: the one it first produced).
    const bytes = Buffer.from(balanceBody(snapshot));
    res.setHeader('ETag', etagOf(snapshot));
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', bytes.length);
    res.end(bytes);
  };

  const parseJson = express.json({ type: () => true, limit: '16kb', strict: false, verify: keepRawBody });
  // The body is JSON whatever its Content-Type says — its charset too: read as UTF-8 (body-parser would refuse another with 415).
  const jsonBody: RequestHandler = (req, res, next) => {
    if (/charset=/i.test(req.headers['content-type'] ?? '') && !/charset=("?)utf-?8\1/i.test(req.headers['content-type'] ?? '')) delete req.headers['content-type'];
    parseJson(req, res, next);
  };
  const guarded = (handler: RequestHandler) => [auth, jsonBody, handler];

  return {
    '/virtual_balance': {
      get: (req, res) => sendRepresentation(req, res, representations.balance()),
      post: guarded(change('/virtual_balance', (req) => parse(balanceChangeSchema, req.body, 'request body'))),
    },
    '/virtual_balance/reset': {
      post: guarded(change('/virtual_balance/reset', (req) => ({ op: { kind: 'reset' }, ...parse(resetSchema, req.body ?? {}, 'request body') }))),
    },
    '/virtual_balance/history': {
      get: async (req, res) => {
        const { limit = 50 } = parse(historyQuerySchema, req.query, 'query');
        // request_hash stays in the journal: it only lets a reused Idempotency-Key be told apart.
        const entries = (await history.recent(limit)).map(({ request_hash: _internal, ...entry }) => toJson(entry));
        res.type('application/json').send(`{"status":"success","entries":[${entries.join(',')}]}`);
      },
    },
    '/virtual_balance/events': {
      get: (req, res) => {
        const { body } = representations.balance();
        events.attach(req, res, { body, id: balance.snapshot().revision });
      },
    },
    '/auto_trading/status': { get: (req, res) => sendRepresentation(req, res, representations.trading()) },
    '/balance': { get: (req, res) => sendRepresentation(req, res, representations.dashboardBalance()) },
    '/health': {
      get: async (_req, res) => {
        const report = { ...balance.health(), ...(upstream && { upstream: await upstream.status() }) };
        res.status(report.ready ? 200 : 503).type('application/json').send(toJson({ status: report.ready ? 'ok' : 'error', ...report }));
      },
    },
  };
}
