import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postDeltas } from '../helpers/api-load.ts';
import { runLegacyTrader } from '../helpers/legacy-trader.ts';
import { json, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir, writeJson } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const balanceOf = async (url: string): Promise<number> => (await json(`${url}/virtual_balance`)).body.balance;
const cents = (n: number) => Math.round(n * 1e8) / 1e8;

async function serverWithState(dir: string) {
  await writeJson(join(dir, ATS), { enabled: false, symbol: 'BTCUSDT', balance: 10000, trade_log: Array.from({ length: 40 }, (_, id) => ({ id, pnl: id - 20 })) });
  return startServer({ DATA_DIR: dir });
}

describe('a racing legacy writer costs no client an error', () => {
  it('beside a read-modify-write toggle every ~20 ms, 200 deltas from 4 clients are all answered 200 at the first try, none lost, 20 runs of 20', async () => {
    const dir = await tempDir();
    const server = await serverWithState(dir);
    const toggler = runLegacyTrader<{ toggles: number }>(['toggle', dir, 120, 0.02]);
    for (let run = 1; run <= 20; run++) {
      const start = await balanceOf(server.url);
      const api = await postDeltas(server.url, { clients: 4, total: 200 });
      expect({ run, failures: api.failures, acked: api.acked }).toEqual({ run, failures: [], acked: 200 });
      expect(await balanceOf(server.url), `run ${run}`).toBe(start + 200);
    }
    await toggler.stop();
    // The toggler did race the saves (each race was saved again on top of it), and its fields were followed.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/^balance_sync_saves_total\{outcome="raced"\} (\d+)$/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    expect((await json(`${server.url}/auto_trading/status`)).body.data).toMatchObject({ symbol: 'BTCUSDT', balance: await balanceOf(server.url) });
  }, 120_000);
});

describe('a legacy writer that rewrites the file without pause', () => {
  it('starves no save: 200 deltas from 4 clients all answered 200 at the first try, none lost, its toggles followed', async () => {
    const dir = await tempDir();
    const server = await serverWithState(dir);
    const toggler = runLegacyTrader(['toggle', dir, 60, 0.001]);
    for (let run = 1; run <= 5; run++) {
      const start = await balanceOf(server.url);
      const api = await postDeltas(server.url, { clients: 4, total: 200 });
      expect({ run, failures: api.failures, acked: api.acked }).toEqual({ run, failures: [], acked: 200 });
      expect(await balanceOf(server.url), `run ${run}`).toBe(start + 200);
    }
    await toggler.stop();
    // Its last toggle is followed: the file and what is served come to agree. (Stopped mid-write, the
    // toggler may have left half a file, which the service heals once it is quiet; a toggle that landed
    // in a version the service had replaced is merged into the file after it — so the file is read
    // again at every try, not once.)
    const enabledInFile = async () => {
      try {
        return (JSON.parse(await readFile(join(dir, ATS), 'utf8')) as { enabled: boolean }).enabled;
      } catch {
        return undefined;
      }
    };
    await waitFor(async () => {
      const inFile = await enabledInFile();
      return inFile !== undefined && (await json(`${server.url}/auto_trading/status`)).body.data.enabled === inFile ? true : undefined;
    }, 2_000, 'the last toggle, in the file and served');
  }, 120_000);
});

describe('a legacy writer that saves by renaming a new file into place (os.replace) without pause', () => {
  it("loses none of its bookings to the service's own renames while 8 clients post deltas: every booking and every delta is in the balance", async () => {
    // Each of its saves is a new version (inode) in place; one that lands in the instant between the
    // service's last check of the file and its own rename would be unlinked unseen by a plain rename.
    const dir = await tempDir();
    const server = await serverWithState(dir);
    const start = await balanceOf(server.url);
    const trader = runLegacyTrader<{ booked: number }>(['book-atomic', dir, 600, 0.001]);
    let trading = true;
    void trader.done.finally(() => (trading = false));
    const api = await postDeltas(server.url, { clients: 8, stop: () => !trading });
    await trader.done;
    expect(api.failures).toEqual([]);
    const expected = cents(start + api.acked + trader.events.reduce((total, { booked }) => total + booked, 0));
    // (Its last save is judged within 1 s.)
    await waitFor(async () => (await balanceOf(server.url)) === expected, 2_000, 'every booking counted').catch(() => {});
    expect({ bookings: trader.events.length, balance: await balanceOf(server.url) }).toEqual({ bookings: 600, balance: expected });
  }, 60_000);
});

describe('legacy writers that stall while the API is busy', () => {
  it('serves every stalled write within 1 s of its end, loses none, leaves none in a .corrupt- copy: 20 rounds against both files', async () => {
    const dir = await tempDir();
    const server = await serverWithState(dir);
    const start = await balanceOf(server.url);
    const served: { tick: string; afterMs: number }[] = [];
    let stalling = 2;
    const api = postDeltas(server.url, { clients: 4, stop: () => stalling === 0 });

    // Each round books a PnL of its own size: the history shows when its booking was served.
    const watch = (file: string, stalls: number[]) => {
      const writer = runLegacyTrader<{ tick: string; pnl: number; finished: number }>(['stall', dir, file, ...stalls]);
      const checks: Promise<void>[] = [];
      writer.onEvent(({ tick, pnl, finished }) => {
        checks.push(
          waitFor(async () => {
            const { entries } = (await json(`${server.url}/virtual_balance/history?limit=1000`)).body as { entries: { source: string; balance: number; previous: number }[] };
            const booked = entries.some((e) => e.source === `external:${file}` && cents(e.balance - e.previous) === pnl);
            if (file === ATS && booked) return (await json(`${server.url}/auto_trading/status`)).body.data.tick === tick || undefined;
            return booked || undefined;
          }, 3_000, `round ${tick}`).then(() => void served.push({ tick, afterMs: Date.now() - finished })),
        );
      });
      return writer.done.then(async () => {
        await Promise.allSettled(checks);
        stalling--;
        return writer.events;
      });
    };
    const [vbRounds, atsRounds] = await Promise.all([
      watch(VB, [0.3, 0.6, 1.0, 1.5, 2.2, 3.0, 4.5, 0.4, 0.8, 1.2]),
      watch(ATS, [4.5, 0.3, 2.0, 0.5, 1.1, 3.5, 0.7, 0.9, 2.5, 0.35]),
    ]);
    const { acked, failures } = await api;

    expect(failures).toEqual([]);
    expect(acked).toBeGreaterThan(1_000); // hundreds of changes a second, all along
    const rounds = [...vbRounds, ...atsRounds];
    expect(served.map((s) => s.tick).sort()).toEqual(rounds.map((r) => r.tick).sort());
    expect(served.filter((s) => s.afterMs >= 1_000)).toEqual([]);
    const booked = rounds.reduce((sum, r) => sum + r.pnl, 0);
    await waitFor(async () => (await balanceOf(server.url)) === cents(start + acked + booked) || undefined, 2_000, 'the balance');
    expect((await readdir(dir)).filter((name) => name.includes('.corrupt-'))).toEqual([]);
    // The stalls were really met half-way: quarantined, then merged once finished.
    expect(server.logs.some((line) => String(line.msg).startsWith('quarantined a corrupt file'))).toBe(true);
    expect(server.logs.some((line) => String(line.msg).startsWith('a write landed in a version of the file the service had replaced'))).toBe(true);
  }, 120_000);
});
