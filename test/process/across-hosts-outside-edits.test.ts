import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asAmount, formatAmount } from '../../src/domain/amount.ts';
import { accountPerTest, amount, exact, expectEveryHostHolds, files, head, restartHost, served, startHosts, warnings, type Host, type Shared } from '../helpers/host-processes.ts';
import { expectAccounted, keyedLoad, postDelta, sum } from '../helpers/keyed-clients.ts';
import { runLegacyTrader } from '../helpers/legacy-trader.ts';
import { adminQuery, postgresMissing } from '../helpers/postgres.ts';
import { json } from '../helpers/server-process.ts';
import { ATS } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

const INITIAL = amount('10000');

const sources = async (shared: Shared) =>
  (await adminQuery<{ source: string }>('SELECT source FROM balance_sync_journal WHERE account = $1 ORDER BY revision', [shared.account], shared.databaseUrl)).map((r) => r.source);

describe.skipIf(postgresMissing)("outside edits to one host's files, across hosts", () => {
  const shared = accountPerTest();

  it("counts a legacy trader's bookings on host 2 and every client's deltas on both hosts, on every host", async () => {
    const hosts = await startHosts(shared, ['one', 'two']);
    const two = hosts[1] as Host;
    // Re-reads before each write, books a trade every ~30 ms and saves both files the seed-era way,
    // while clients on both hosts book deltas: host 2's files move under the trader all the time.
    const trader = runLegacyTrader<{ booked: number }>(['book', two.dir, 12, 0.03]);
    const load = keyedLoad(hosts, { clients: 2, label: 'beside-trader' });
    await trader.done;
    await load.stop();
    const booked = trader.events.reduce((total, { booked }) => asAmount(total + exact(booked)), asAmount(0n));

    expect(load.ledger.refused).toEqual([]);
    await expectAccounted(shared, hosts, load.ledger, booked);
    // Each booking went into the shared journal as host 2's outside edit.
    const outside = (await sources(shared)).filter((source) => source.startsWith('external:'));
    expect(new Set(outside)).toEqual(new Set([`external:${ATS}@${two.id}`]));
  });

  it("counts every booking of a trader on host 2 that saves by renaming a new file into place, beside clients on both hosts (a rename landing while a change committed was unlinked unseen)", async () => {
    const hosts = await startHosts(shared, ['one', 'two']);
    const two = hosts[1] as Host;
    // Temp file + os.replace every ~10 ms: each save is a new version (inode) in place, which a
    // rename of the service's own landing just after it would unlink with nothing left to read.
    const trader = runLegacyTrader<{ booked: number }>(['book-atomic', two.dir, 60, 0.01]);
    const load = keyedLoad(hosts, { clients: 2, label: 'beside-renamer' });
    await trader.done;
    await load.stop();
    const booked = trader.events.reduce((total, { booked }) => asAmount(total + exact(booked)), asAmount(0n));
    expect(load.ledger.refused).toEqual([]);
    // The trader's last save is judged within 1 s (SPEC); a booking lost never gets the head there.
    const expected = asAmount(INITIAL + sum(load.ledger.acked.values()) + booked);
    await waitFor(async () => (await head(shared)).balance === expected, 3_000, 'the last booking judged').catch(() => {});
    await expectAccounted(shared, hosts, load.ledger, booked);
    expect(warnings(two, 'refused a stale write-back')).toEqual([]);
  });

  it("takes a hand booking on host 2's trading state to host 1, and refuses a stale write-back on host 2 judged by host 1's changes", async () => {
    const [one, two] = (await startHosts(shared, ['one', 'two'])) as [Host, Host];
    const path = join(two.dir, ATS);
    const state = { enabled: true, symbol: 'BTCUSDT' };
    // A legacy process on host 2 reads its trading state (revision N) and books 12.34 into it.
    const read = JSON.parse(await readFile(path, 'utf8'));
    const booked = asAmount(INITIAL + amount('12.34'));
    await writeFile(path, JSON.stringify({ ...read, ...state, balance: Number(formatAmount(booked)) }));
    await waitFor(async () => (await served(one)).balance === booked, 2_000, 'the booking on host 1');
    await expectEveryHostHolds(shared, [one, two], booked);
    expect(await sources(shared)).toContain(`external:${ATS}@${two.id}`);

    // Host 2's legacy process reads the booked state (revision N)...
    const stale = await readFile(path, 'utf8');
    // ...host 1 moves the account on (host 2's own journal knows nothing of it)...
    for (const delta of ['1.5', '2.25']) expect((await postDelta(one, `moved-${delta}`, delta)).status).toBe(200);
    const moved = asAmount(booked + amount('3.75'));
    const before = await expectEveryHostHolds(shared, [one, two], moved);
    // ...and it writes its old copy back with a toggle: the toggle counts, its balance does not.
    await writeFile(path, JSON.stringify({ ...JSON.parse(stale), enabled: false }));
    await waitFor(async () => (await json(`${two.url}/auto_trading/status`)).body.data.enabled === false, 1_000, 'the toggle on host 2');
    await waitFor(async () => (await files(two)).every((file) => file.balance === moved), 1_000, "the current balance back in host 2's file");
    expect(await head(shared)).toEqual(before);
    await expectEveryHostHolds(shared, [one, two], moved);
    expect(warnings(two, 'refused a stale write-back')).toHaveLength(1);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ ...state, enabled: false });
  });
  it('counts a booking once when its host stopped before its files took it: the writer booking again on the same revision is judged against what it wrote, not that revision\'s balance', async () => {
    const [host] = (await startHosts(shared, ['one'])) as [Host];
    const path = join(host.dir, ATS);
    // A legacy trader reads revision N and books +3; the host commits it as a booking on N.
    const read = JSON.parse(await readFile(path, 'utf8'));
    const written = asAmount(exact(read.balance) + amount('3'));
    await writeFile(path, JSON.stringify({ ...read, balance: Number(formatAmount(written)) }));
    await waitFor(async () => (await head(shared)).balance === written, 2_000, 'the first booking');
    await expectEveryHostHolds(shared, [host], written);
    // The host dies before its files hold the booking's revision (kill -9 between COMMIT and rename):
    // the file still carries N, with the trader's own balance, which it re-reads and books +2 on.
    await host.server.kill('SIGTERM');
    await writeFile(path, JSON.stringify({ ...read, balance: Number(formatAmount(asAmount(written + amount('2')))) }));
    const restarted = await restartHost(shared, host);
    await waitFor(async () => (await head(shared)).revision > 2, 2_000, 'the second booking').catch(() => {});
    // +3 and +2, each once: judged against 3 + N's balance (what it wrote carrying N), not N's balance.
    await expectEveryHostHolds(shared, [restarted], asAmount(written + amount('2')));
  });

  it("counts a booking made in host 2's files while it was stopped once it starts again, and a lagging host's own old files book nothing (a restart was taken for a join, and the booking dropped)", async () => {
    const [one, two] = (await startHosts(shared, ['one', 'two'])) as [Host, Host];
    expect((await postDelta(one, 'before-stop', '5')).status).toBe(200);
    const atStop = await expectEveryHostHolds(shared, [one, two], asAmount(INITIAL + amount('5')));
    await two.server.kill('SIGTERM');
    // A legacy process on host 2 reads its trading state (the revision the files hold) while host 1 moves on...
    const path = join(two.dir, ATS);
    const read = JSON.parse(await readFile(path, 'utf8'));
    expect((await postDelta(one, 'while-stopped', '1.25')).status).toBe(200);
    // ...and books +21 on what it read, while nobody on host 2 watches.
    await writeFile(path, JSON.stringify({ ...read, balance: Number(formatAmount(asAmount(atStop.balance + amount('21')))) }));
    const restarted = await restartHost(shared, two);
    const booked = asAmount(INITIAL + amount('5') + amount('1.25') + amount('21'));
    // Counted before the restarted host answers anything.
    expect((await served(restarted)).balance).toBe(booked);
    await expectEveryHostHolds(shared, [one, restarted], booked);
    expect(await sources(shared)).toContain(`external:${ATS}@${two.id}`);
    expect(warnings(restarted, "this host's file held another balance")).toEqual([]);

    // Stopped again while host 1 moves on: its files hold its own last (older) versions — nothing to count.
    await restarted.server.kill('SIGTERM');
    expect((await postDelta(one, 'while-stopped-again', '2')).status).toBe(200);
    const again = await restartHost(shared, restarted);
    await expectEveryHostHolds(shared, [one, again], asAmount(booked + amount('2')));
    expect(warnings(again, '').map((line) => line.msg)).toEqual([]);

    // Its files claiming a revision the database never reached (another history: a restored database,
    // a folder from elsewhere) are not a booking: the database's balance wins, as for a join, and says so.
    await again.server.kill('SIGTERM');
    const state = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...state, balance: 1, _balance_sync: { ...state._balance_sync, revision: state._balance_sync.revision + 100 } }));
    const elsewhere = await restartHost(shared, again);
    await expectEveryHostHolds(shared, [one, elsewhere], asAmount(booked + amount('2')));
    expect(warnings(elsewhere, "this host's file held another balance than the shared database").map((line) => line.file)).toEqual([ATS]);
  });
});
