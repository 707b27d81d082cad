// The service's configuration, read from the environment and validated once at start-up.

import { hostname } from 'node:os';
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

const JOURNAL_FILE = 'balance_journal.jsonl';

/** A plain file name inside DATA_DIR: no folder parts, so the service never writes outside its folder. */
const fileName = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((name) => name !== '', 'must not be empty')
    .refine((name) => !/[/\\\0]/.test(name), 'must be a plain file name, without / or \\')
    .refine((name) => !name.includes('..') && name !== '.', 'must not contain ..')
    .refine((name) => !name.startsWith(JOURNAL_FILE) && !name.startsWith('.balance-sync'), 'must not be one of the service\'s own files');

/** An http(s) base URL; a trailing slash is dropped so paths join cleanly. */
const upstreamUrl = optionalText.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const url = URL.canParse(value) ? new URL(value) : null;
  const problem = !url
    ? 'must be a URL such as http://127.0.0.1:8002'
    : !/^https?:$/.test(url.protocol)
      ? 'must be an http:// or https:// URL'
      : url.pathname !== '/' || url.search || url.hash
        ? 'must be a base URL, without a path or query'
        : null;
  if (!problem) return value.replace(/\/+$/, '');
  ctx.addIssue({ code: 'custom', message: `${problem} (got "${value}")` });
  return z.NEVER;
});

/** A PostgreSQL URL (postgres:// or postgresql://); shown back without its password. */
const databaseUrl = optionalText.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const url = URL.canParse(value) ? new URL(value) : null;
  if (url && /^postgres(ql)?:$/.test(url.protocol) && url.hostname !== '') return value;
  if (url) url.password = url.password ? '***' : '';
  ctx.addIssue({ code: 'custom', message: `must be a URL such as postgres://user:password@host:5432/database (got "${url?.toString() ?? 'something else'}")` });
  return z.NEVER;
});

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
  UPSTREAM_URL: upstreamUrl,
  UPSTREAM_TIMEOUT_MS: integer(1, 3_600_000).default(30_000),
  BALANCE_FILE: fileName('virtual_balance.json'),
  TRADING_STATE_FILE: fileName('auto_trading_state.json'),
  DATABASE_URL: databaseUrl,
  ACCOUNT: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').default('default'),
  HOST_ID: z
    .string()
    .trim()
    .default(() => hostname())
    .pipe(z.string().regex(/^[\x21-\x7e]{1,100}$/, 'must be 1–100 visible ASCII characters (it goes into every change this host makes)')),
}).refine(({ BALANCE_FILE: a, TRADING_STATE_FILE: b }) => a !== b && !a.startsWith(`${b}.`) && !b.startsWith(`${a}.`), {
  path: ['TRADING_STATE_FILE'],
  // `<name>.<digits>` and `<name>.corrupt-…` are the other file's temp and quarantine names.
  message: 'must differ from BALANCE_FILE and not extend it (the two files must be two files)',
});

export type Config = z.output<typeof envSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; message: string; variable: string; problem: string };

/** Whether HOST keeps the service on this machine (127.0.0.0/8, ::1, localhost). */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);

/** Parses the environment; on failure, one line naming the variable and what is wrong with it. */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const result = envSchema.safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  const problem = issue?.message ?? 'is invalid';
  return { ok: false, message: `invalid configuration: ${variable} ${problem}`, variable, problem };
}
