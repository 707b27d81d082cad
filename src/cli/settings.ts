// Every setting of SPEC's table, once: its environment variable, its flag, and what it means. The
// values themselves are validated in one place, config.ts, whichever way they were given.

export interface Setting {
  /** The environment variable, as config.ts reads it. */
  env: string;
  /** The flag, without its dashes. */
  flag: string;
  /** What the value looks like, for --help. */
  value: string;
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  { env: 'PORT', flag: 'port', value: '<n>', help: "the legacy backend's port; 0 picks a free one" },
  { env: 'HOST', flag: 'host', value: '<address>', help: '0.0.0.0 to expose beyond this machine (set --api-token too)' },
  { env: 'DATA_DIR', flag: 'data-dir', value: '<dir>', help: 'folder of the two files and the journal; created if missing' },
  { env: 'INITIAL_BALANCE', flag: 'initial-balance', value: '<amount>', help: 'balance when no file has one, and the target of reset' },
  { env: 'LOG_LEVEL', flag: 'log-level', value: '<level>', help: 'fatal, error, warn, info, debug, trace or silent' },
  { env: 'API_TOKEN', flag: 'api-token', value: '<token>', help: 'when set, changes need Authorization: Bearer <token>' },
  { env: 'CORS_ORIGINS', flag: 'cors-origins', value: '<origins>', help: '* or a comma-separated list of origins allowed to call the own routes' },
  { env: 'UPSTREAM_URL', flag: 'upstream', value: '<url>', help: "the legacy backend's base URL; every route balance-sync does not own is forwarded there" },
  { env: 'UPSTREAM_TIMEOUT_MS', flag: 'upstream-timeout-ms', value: '<ms>', help: 'a forwarded request with no answer by then is 504' },
  { env: 'BALANCE_FILE', flag: 'balance-file', value: '<name>', help: "the sidebar's file, a plain name inside the data folder" },
  { env: 'TRADING_STATE_FILE', flag: 'trading-state-file', value: '<name>', help: "the panel's file (later legacy versions: auto_trading_status.json)" },
  { env: 'DATABASE_URL', flag: 'database-url', value: '<url>', help: 'postgres://…: the balance lives in PostgreSQL, shared by every host' },
  { env: 'ACCOUNT', flag: 'account', value: '<name>', help: "the paper account's name in the database" },
  { env: 'HOST_ID', flag: 'host-id', value: '<name>', help: "this host's name, recorded with every change it makes (default: the host name)" },
  { env: 'JOURNAL_MAX_BYTES', flag: 'journal-max-bytes', value: '<bytes>', help: 'the journal is rotated past this size' },
  { env: 'JOURNAL_SEGMENTS', flag: 'journal-segments', value: '<n>', help: 'rotated journal segments kept (never those younger than 24 h)' },
];
