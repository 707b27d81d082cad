import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Amount } from '../../src/domain/amount.ts';
import { accountPerTest, amount, exact, expectEveryHostHolds, files, served, startHost, warnings, type Host } from '../helpers/host-processes.ts';
import { postDelta, type Answer } from '../helpers/keyed-clients.ts';
import { adminQuery, postgresMissing } from '../helpers/postgres.ts';
import { json, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir, writeJson } from '../helpers/temp-dir.ts';

const KEYED = [
  ['files-1', '1.11'],
  ['files-2', '-2.22'],
  ['files-3', '3.33'],
] as const;

/** A data folder with history and Idempotency-Keys from a run on files alone (no DATABASE_URL). */
async function folderFromFilesOnly(): Promise<{ dir: string; answers: Map<string, Answer> }> {
  const dir = await tempDir();
  const server = await startServer({ DATA_DIR: dir });
  const host: Host = { id: 'files-only', dir, url: server.url, server };
  const answers = new Map<string, Answer>();
  for (const [key, delta] of KEYED) answers.set(key, await postDelta(host, key, delta));
  expect([...answers.values()].map((a) => a.status)).toEqual([200, 200, 200]);
  expect(await server.kill('SIGTERM')).toBe(0);
  return { dir, answers };
}

describe.skipIf(postgresMissing)('from files to PostgreSQL', () => {
  const shared = accountPerTest();

  it('brings a folder in: history continues, its keys are not applied again on any host; a joining host takes the shared balance and says so', async () => {
    const { dir, answers } = await folderFromFilesOnly();
    const last = answers.get('files-3') as Answer;
    const first = await startHost(shared, 'first', { dir });
    expect(first.server.logs.some((line) => String(line.msg).startsWith('brought this folder'))).toBe(true);
    expect(await served(first)).toEqual({ balance: last.balance, revision: last.revision });

    // A second host whose own folder holds another balance (5,000) joins.
    const otherDir = await tempDir();
    await writeJson(join(otherDir, VB), { balance: 5000, last_updated: '2026-01-01T00:00:00' });
    await writeJson(join(otherDir, ATS), { enabled: true, balance: 5000 });
    const joining = await startHost(shared, 'joining', { dir: otherDir });
    // Before it reports ready, its files hold the shared balance.
    const held = { balance: last.balance, revision: last.revision };
    expect(await files(joining)).toEqual([held, held]);
    const warned = warnings(joining, "this host's file held another balance than the shared database");
    expect(warned.map((line) => [exact(line.local), exact(line.shared)])).toEqual([
      [amount('5000'), last.balance],
      [amount('5000'), last.balance],
    ]);
    const balances = await adminQuery<{ balance: string }>('SELECT balance::text AS balance FROM balance_sync_journal WHERE account = $1', [shared.account], shared.databaseUrl);
    expect(balances.map((row) => exact(row.balance))).not.toContain(amount('5000'));

    // The files-only run's keys, replayed on either host: the first answer, nothing applied.
    for (const [i, [key, delta]] of KEYED.entries()) {
      const again = await postDelta(i % 2 === 0 ? joining : first, key, delta);
      const before = answers.get(key) as Answer;
      expect(again).toMatchObject({ status: 200, replayed: true, revision: before.revision, balance: before.balance });
    }
    await expectEveryHostHolds(shared, [first, joining], last.balance as Amount);

    // History continues from the folder's journal, across both hosts.
    const next = await postDelta(joining, 'shared-1', '10');
    expect(next.revision).toBe((last.revision as number) + 1);
    const { body } = await json(`${first.url}/virtual_balance/history?limit=10`);
    expect(body.entries.map((e: { revision: number; source: string; idempotency_key?: string }) => [e.revision, e.source, e.idempotency_key])).toEqual([
      [next.revision, `api@${joining.id}`, 'shared-1'],
      ...KEYED.map(([key]) => [answers.get(key)?.revision, 'api', key]).reverse(),
      [1, 'startup', undefined],
    ]);
    expect(warnings(first, 'the database holds no such account yet')).toEqual([]);

    // A host whose ACCOUNT is mistyped starts a new account from its folder — and says which exist.
    const typo = await startHost({ ...shared, account: `${shared.account}-typo` }, 'typo');
    expect(warnings(typo, 'the database holds no such account yet, but others').map((line) => line.others)).toEqual([[shared.account]]);
  });
});
