// Brings the database's schema up to date at start-up: the numbered SQL files of migrations/, in order, once.

import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientBase } from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Every host takes this lock before it looks at the schema: hosts starting together queue behind the
// first, which migrates, and then find nothing left to do. Transaction-scoped, so a host that dies
// mid-migration cannot leave it held. ('balsync' in ASCII.)
const MIGRATION_LOCK = 0x62616c73796e63n;

// tsc does not copy .sql files into dist/, so both src/store/postgres/ (tests run the TypeScript) and
// dist/src/store/postgres/ find them from the project root.
function projectRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error('the migrations cannot find the project root (no package.json above them)');
  }
}

export const MIGRATIONS_DIR = join(projectRoot(), 'src', 'store', 'postgres', 'migrations');

/** `NNN_name.sql` files in version order; a gap or a repeated number is a broken build, not a database problem. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`migration ${file} is not named NNN_name.sql`);
    migrations.push({ version: Number(match[1]), name: match[2] as string, sql: await readFile(join(dir, file), 'utf8') });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.version} is out of sequence: expected ${index + 1}`);
  });
  return migrations;
}

/**
 * Applies what the database lacks, all of it in one transaction: a host never sees half a schema, and
 * a failing migration changes nothing. `client` is a connection of its own (not in a transaction).
 */
export async function migrate(client: ClientBase, migrations: readonly Migration[]): Promise<{ from: number; to: number }> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS balance_sync_schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM balance_sync_schema_migrations');
    const from = rows[0]?.version ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    // A newer host has migrated further: this build does not know what the schema means now.
    if (from > latest) throw new Error(`the database's balance-sync schema is at version ${from}, newer than this build's ${latest}; upgrade this host`);
    for (const migration of migrations.filter((m) => m.version > from)) {
      await client.query(migration.sql);
      await client.query('INSERT INTO balance_sync_schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, latest) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
