-- The shared truth of balance-sync: one row per account, its journal, its Idempotency-Keys, its hosts.
-- Amounts are numeric(21,8): up to 1e12 with 8 decimals, exact, never a double.

CREATE TABLE balance_sync_accounts (
  account    text PRIMARY KEY,
  balance    numeric(21, 8) NOT NULL,
  revision   bigint NOT NULL CHECK (revision >= 0),
  updated_at timestamptz NOT NULL
);

-- One row per revision of an account. commit_id names the transaction that wrote it, so a host whose
-- COMMIT answer was lost can ask whether it happened; imported entries have none.
CREATE TABLE balance_sync_journal (
  account         text NOT NULL REFERENCES balance_sync_accounts (account),
  revision        bigint NOT NULL,
  at              timestamptz NOT NULL,
  balance         numeric(21, 8) NOT NULL,
  previous        numeric(21, 8),
  source          text NOT NULL,
  reason          text,
  idempotency_key text,
  request_hash    text,
  commit_id       uuid,
  host_id         text NOT NULL,
  PRIMARY KEY (account, revision)
);
CREATE INDEX balance_sync_journal_commit_id ON balance_sync_journal (commit_id) WHERE commit_id IS NOT NULL;

-- Acknowledged keys and the answer they produced. created_at is the database's clock: the 24 h window
-- is judged by one clock for every host, whatever their own clocks say.
CREATE TABLE balance_sync_idempotency_keys (
  account      text NOT NULL REFERENCES balance_sync_accounts (account),
  key          text NOT NULL,
  request_hash text NOT NULL,
  revision     bigint NOT NULL,
  balance      numeric(21, 8) NOT NULL,
  at           timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, key)
);
CREATE INDEX balance_sync_idempotency_keys_created_at ON balance_sync_idempotency_keys (account, created_at);

-- Each host's last word: the revision its files hold, and when it said so (database clock).
CREATE TABLE balance_sync_hosts (
  account  text NOT NULL,
  host_id  text NOT NULL,
  revision bigint NOT NULL,
  seen_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, host_id)
);
