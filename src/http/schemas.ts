// Request schemas: they validate every request and generate the OpenAPI document.

import { z } from 'zod';
import { parseAmount, type Amount } from '../domain/amount.ts';
import type { ChangeOp } from '../domain/change.ts';

const amount = (allowNegative: boolean) =>
  z.union([z.number(), z.string()], { error: 'must be a number or a numeric string' }).transform((value, ctx): Amount => {
    const parsed = parseAmount(value, { allowNegative });
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  });

const reason = z.string().max(200, 'must be at most 200 characters').optional().meta({ description: 'Why: kept in the journal.' });

export const balanceChangeSchema = z
  .object({
    balance: amount(false)
      .optional()
      .meta({ description: 'The new balance: ≥ 0, ≤ 1e12, at most 8 decimals; a number or a numeric string.' }),
    delta: amount(true)
      .optional()
      .meta({ description: 'An adjustment of the current balance, applied atomically; may be negative.' }),
    reason,
  })
  .meta({ description: 'Set the balance, or adjust it by a delta: exactly one of the two.' })
  .superRefine((body, ctx) => {
    if ((body.balance === undefined) === (body.delta === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['balance'], message: 'exactly one of balance and delta is required' });
    }
  })
  .transform((body): { op: ChangeOp; reason?: string } => ({
    op: body.delta !== undefined ? { kind: 'delta', delta: body.delta } : { kind: 'set', balance: body.balance as Amount },
    ...(body.reason !== undefined && { reason: body.reason }),
  }));

export const resetSchema = z.object({ reason }).meta({ description: 'Optional; the body may be empty.' });

// Documented in the OpenAPI document (toJSONSchema's input side leaves examples out across a transform);
// a test posts every one of them to the service.
export const balanceChangeExamples = [{ balance: 15000 }, { balance: '15000.50' }, { delta: -25.5, reason: 'BTCUSDT trade closed' }];
export const resetExamples = [{}, { reason: 'new paper-trading season' }];

export const historyQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number from 1 to 1000')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000'))
    .optional()
    .meta({ description: 'How many entries, newest first (1–1000, default 50).' }),
});

export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, 'Idempotency-Key must be 1–200 visible ASCII characters');
