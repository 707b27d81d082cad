import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate, MIGRATIONS_DIR } from '../../../src/store/postgres/migrate.ts';
import { freshDatabase, postgresMissing } from '../../helpers/postgres.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

const versions = (url: string) =>
  withClient(url, async (client) => (await client.query<{ version: number }>('SELECT version FROM balance_sync_schema_migrations ORDER BY version')).rows.map((r) => r.version));

describe('migration files', () => {
  it('are found from the sources and from the build, which does not copy them', async () => {
    const built = (await import(join(process.cwd(), 'dist/src/store/postgres/migrate.js'))) as { MIGRATIONS_DIR: string; loadMigrations: typeof loadMigrations };
    expect(built.MIGRATIONS_DIR).toBe(MIGRATIONS_DIR);
    expect(await built.loadMigrations()).toEqual(await loadMigrations());
    expect((await loadMigrations())[0]).toMatchObject({ version: 1, name: 'initial' });
  });

  it('refuse a gap in the numbering: a migration lost from the build must not be skipped', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '001_first.sql'), 'SELECT 1;');
    await writeFile(join(dir, '003_third.sql'), 'SELECT 1;');
    await expect(loadMigrations(dir)).rejects.toThrow(/out of sequence/);
  });
});

describe.skipIf(postgresMissing)('migrations in PostgreSQL', () => {
  it('build the schema once, and find nothing to do the second time', async () => {
    const url = await freshDatabase();
    const migrations = await loadMigrations();
    expect(await withClient(url, (client) => migrate(client, migrations))).toEqual({ from: 0, to: migrations.length });
    expect(await withClient(url, (client) => migrate(client, migrations))).toEqual({ from: migrations.length, to: migrations.length });
    expect(await versions(url)).toEqual(migrations.map((m) => m.version));
  });

  it('leave exactly one schema when hosts start at the same instant', async () => {
    const url = await freshDatabase();
    const migrations = await loadMigrations();
    const clients = await Promise.all(Array.from({ length: 6 }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }));
    try {
      const results = await Promise.all(clients.map((client) => migrate(client, migrations)));
      expect(results.filter((r) => r.from === 0)).toHaveLength(1);
      expect(results.every((r) => r.to === migrations.length)).toBe(true);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    expect(await versions(url)).toEqual(migrations.map((m) => m.version));
    const tables = await withClient(url, async (client) =>
      (await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.name),
    );
    expect(tables).toEqual(['balance_sync_accounts', 'balance_sync_hosts', 'balance_sync_idempotency_keys', 'balance_sync_journal', 'balance_sync_schema_migrations']);
  });

  it('apply a migration whole or not at all', async () => {
    const url = await freshDatabase();
    const broken = [...(await loadMigrations()), { version: 2, name: 'broken', sql: 'CREATE TABLE balance_sync_extra (x int); SELECT no_such_function();' }];
    await expect(withClient(url, (client) => migrate(client, broken))).rejects.toThrow(/no_such_function/);
    const tables = await withClient(url, async (client) => (await client.query("SELECT 1 FROM pg_tables WHERE tablename LIKE 'balance_sync_%'")).rowCount);
    expect(tables).toBe(0);
  });

  it('refuse a database that a newer build has migrated further', async () => {
    const url = await freshDatabase();
    const migrations = await loadMigrations();
    await withClient(url, (client) => migrate(client, [...migrations, { version: migrations.length + 1, name: 'later', sql: 'SELECT 1' }]));
    await expect(withClient(url, (client) => migrate(client, migrations))).rejects.toThrow(/newer than this build/);
  });
});
