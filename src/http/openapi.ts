// GET /openapi.json: an OpenAPI 3.1 document generated from the zod schemas that validate requests.

import { z } from 'zod';
import type { RouteTable } from './own-routes.ts';
import { balanceChangeExamples, balanceChangeSchema, historyQuerySchema, resetExamples, resetSchema } from './schemas.ts';

const schema = (zod: z.ZodType, examples?: unknown[]) => {
  const { $schema: _ignored, ...jsonSchema } = z.toJSONSchema(zod, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return examples ? { ...jsonSchema, examples } : jsonSchema;
};

const amount = { type: 'number', minimum: 0, maximum: 1e12, description: 'Exact to 8 decimals.' };
const balanceBody = {
  type: 'object',
  required: ['status', 'balance', 'currency', 'last_updated', 'revision'],
  properties: {
    status: { const: 'success' },
    balance: amount,
    currency: { type: 'string', examples: ['USDT'] },
    last_updated: { type: 'string', format: 'date-time' },
    revision: { type: 'integer', minimum: 0 },
  },
};
const errorBody = {
  type: 'object',
  required: ['status', 'message'],
  properties: {
    status: { const: 'error' },
    message: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const json = (body: object, description: string) => ({ description, content: { 'application/json': { schema: body } } });
const error = (description: string) => json({ $ref: '#/components/schemas/Error' }, description);
const balanceOk = json({ $ref: '#/components/schemas/Balance' }, 'The balance');
const header = (name: string, description: string) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } });

const changeParameters = [
  header('If-Match', 'Apply only if the balance is still at this ETag (strong comparison); otherwise 412.'),
  header('If-None-Match', 'Apply only if the balance is no longer at this ETag; `*` or a match is 412.'),
  header('Idempotency-Key', '1–200 visible ASCII characters; a repeat with the same body returns the first answer.'),
];
const changeResponses = {
  200: balanceOk,
  400: error('Invalid body'),
  401: error('Missing or wrong bearer token (when API_TOKEN is set)'),
  409: error('The delta would take the balance below 0'),
  412: error('The balance moved on since the If-Match ETag'),
  405: error('Another method than POST (see Allow)'),
  413: error('Body over 16 KiB'),
  422: error('Idempotency-Key reused with another body'),
  503: error('The change could not be saved; nothing changed'),
};

/** A POST that changes the balance: bearer token when API_TOKEN is set, If-Match, Idempotency-Key. */
const changeOperation = (summary: string, body: object, required: boolean) => ({
  summary,
  security: [{}, { bearer: [] }],
  parameters: changeParameters,
  requestBody: { required, content: { 'application/json': { schema: body } } },
  responses: changeResponses,
});

function document() {
  const [historyLimit] = Object.entries((schema(historyQuerySchema).properties ?? {}) as Record<string, object>);
  return {
    openapi: '3.1.0',
    info: { title: 'balance-sync', version: '0.1.0', description: 'One virtual balance over two legacy JSON files.' },
    components: {
      schemas: { Balance: balanceBody, Error: errorBody },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    paths: {
      '/virtual_balance': {
        get: {
          summary: 'The balance (the sidebar polls this)',
          parameters: [header('If-None-Match', 'An ETag from an earlier answer; 304 while it is current.')],
          responses: { 200: balanceOk, 304: { description: 'Unchanged' }, 503: error('Not ready') },
        },
        post: changeOperation('Set or adjust the balance, durably', schema(balanceChangeSchema, balanceChangeExamples), true),
      },
      '/virtual_balance/reset': {
        post: changeOperation('Set the balance to INITIAL_BALANCE', schema(resetSchema, resetExamples), false),
      },
      '/virtual_balance/history': {
        get: {
          summary: 'Journal entries, newest first',
          parameters: historyLimit ? [{ name: historyLimit[0], in: 'query', required: false, schema: historyLimit[1] }] : [],
          responses: {
            200: json({ type: 'object', properties: { status: { const: 'success' }, entries: { type: 'array', items: { type: 'object' } } } }, 'Entries'),
            400: error('Invalid limit'),
          },
        },
      },
      '/virtual_balance/events': {
        get: {
          summary: 'Server-Sent Events: a `balance` event with the GET body at once and after every change',
          responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
        },
      },
      '/balance': {
        get: {
          summary: "The legacy dashboard's balance: the same one truth, all of it available",
          parameters: [header('If-None-Match', 'An ETag from an earlier answer; 304 while it is current.')],
          responses: {
            200: json(
              {
                type: 'object',
                required: ['status', 'balance', 'currency', 'available', 'locked', 'revision'],
                properties: { status: { const: 'success' }, balance: amount, currency: { type: 'string' }, available: amount, locked: amount, revision: { type: 'integer' } },
              },
              'The balance',
            ),
            304: { description: 'Unchanged' },
            503: error('Not ready'),
          },
        },
      },
      '/auto_trading/status': {
        get: {
          summary: 'The trading state with the one balance, under both `data` and `auto_trading`, however deeply nested',
          responses: {
            200: json({ type: 'object', properties: { status: { const: 'success' }, data: { type: 'object' }, auto_trading: { type: 'object' } } }, 'The state'),
            304: { description: 'Unchanged' },
          },
        },
      },
      '/health': {
        get: {
          summary:
            'Readiness: whether the files agree, the revision, each file, whether the journal is whole (`journal`), a file that cannot be written (`failing`), what holds the truth (`store`: files, or postgres and whether it answers) and, with DATABASE_URL, the account\'s hosts (`hosts`: host_id, revision, lag, seen_at)',
          responses: { 200: json({ type: 'object' }, 'Ready'), 503: json({ type: 'object' }, 'Not ready') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics: the process, and balance_sync_* (balance, revision, saves, outside edits, forwarding…)',
          responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/balance-sync/': {
        get: {
          summary: 'The operator page (HTML)',
          responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1') } } },
    },
  };
}

export function openApiRoutes(): RouteTable {
  const body = JSON.stringify(document());
  return { '/openapi.json': { get: (_req, res) => void res.type('application/json').send(body) } };
}
