// The service's configuration, read from the environment and validated once at start-up.

import { z } from 'zod';
import { parseAmount, type Amount } from './domain/amount.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const envSchema = z.object({
  PORT: integer(0, 65_535).default(8001),
  HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  DATA_DIR: z.string().trim().min(1, 'must not be empty').default('./data'),
  INITIAL_BALANCE: z
    .string()
    .default('10000')
    .transform((value, ctx): Amount => {
      const parsed = parseAmount(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: `${parsed.message} (got "${value}")` });
      return z.NEVER;
    }),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  API_TOKEN: optionalText,
  CORS_ORIGINS: optionalText.transform((value) => value?.split(',').map((origin) => origin.trim()).filter(Boolean)),
  JOURNAL_MAX_BYTES: integer(4096, 2 ** 40).default(8 * 1024 * 1024),
  JOURNAL_SEGMENTS: integer(1, 1000).default(4),
});

export type Config = z.output<typeof envSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; message: string };

/** Parses the environment; on failure, one line naming the variable and what is wrong with it. */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const result = envSchema.safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  return { ok: false, message: `invalid configuration: ${variable} ${issue?.message ?? 'is invalid'}` };
}
