// The soak's legacy process, with the seed-era backend's habits: whole files written with
// open('w') and a JSON dump (not atomic), a read-modify-write toggle every ~20 ms, and a writer that
// stalls half-way through a write. One process: its own writes to a file never overlap.

import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from './stats.ts';

const ATS = 'auto_trading_state.json';
const VB = 'virtual_balance.json';

export interface StallRound {
  file: string;
  tick: string;
  stallMs: number;
  /** When its write ended, in ms since the soak began. */
  endedAtMs: number;
  /** From the end of the write to the service showing it; null: never within 5 s. */
  servedAfterMs: number | null;
}

async function load(path: string): Promise<Record<string, unknown>> {
  for (;;) {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    } catch {
      await sleep(2); // this process's own write in flight, or the file being replaced
    }
  }
}

async function dump(path: string, state: unknown, stallMs = 0): Promise<void> {
  const text = JSON.stringify(state, null, 2);
  const handle = await open(path, 'w');
  try {
    if (stallMs === 0) return void (await handle.write(text));
    await handle.write(text.slice(0, text.length / 2));
    await sleep(stallMs);
    await handle.write(text.slice(text.length / 2));
  } finally {
    await handle.close();
  }
}

export class LegacyProcess {
  toggles = 0;
  readonly rounds: StallRound[] = [];
  /** Set while a stalled round is written or checked: a kill -9 waits for it to end (see soak.ts). */
  stalling = false;
  private busy: Promise<void> = Promise.resolve();
  readonly began = performance.now();

  constructor(
    private readonly dir: string,
    private readonly url: string,
  ) {}

  /** Runs both habits until `stop()` says so. */
  async run(stop: () => boolean): Promise<void> {
    await Promise.all([this.toggle(stop), this.stall(stop)]);
  }

  /** One write at a time within this process, as the legacy backend's own lock does. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const done = this.busy.then(work);
    this.busy = done.then(() => undefined, () => undefined);
    return done;
  }

  private async toggle(stop: () => boolean): Promise<void> {
    while (!stop()) {
      await this.exclusive(async () => {
        const path = join(this.dir, ATS);
        const state = await load(path);
        await dump(path, { ...state, enabled: !state.enabled });
      });
      this.toggles++;
      await sleep(20);
    }
  }

  /** Rounds against either file in turn, stalls from 0.3 s to 4.5 s; each checked for 5 s. */
  private async stall(stop: () => boolean): Promise<void> {
    const stalls = [300, 4500, 800, 2000, 450, 3200, 1200, 600, 3800, 1600];
    for (let round = 0; !stop(); round++) {
      const file = round % 2 === 0 ? ATS : VB;
      const stallMs = stalls[round % stalls.length] as number;
      const tick = `round-${round}`;
      this.stalling = true;
      const finished = await this.exclusive(async () => {
        const path = join(this.dir, file);
        await dump(path, { ...(await load(path)), tick }, stallMs);
        return performance.now();
      });
      this.rounds.push({ file, tick, stallMs, endedAtMs: finished - this.began, servedAfterMs: await this.served(file, tick, finished) });
      this.stalling = false;
      await sleep(500);
    }
  }

  /**
   * The trading state's tick shows in the API. The balance file's fields are served by no route: its
   * tick must be in the file itself (a write the service healed over is back once it is merged).
   */
  private async served(file: string, tick: string, finished: number): Promise<number | null> {
    while (performance.now() - finished < 5_000) {
      const shown =
        file === ATS
          ? await fetch(`${this.url}/auto_trading/status`).then((r) => r.json() as Promise<{ data?: { tick?: string } }>).then((b) => b.data?.tick, () => undefined)
          : await readFile(join(this.dir, VB), 'utf8').then((text) => (JSON.parse(text) as { tick?: string }).tick, () => undefined);
      if (shown === tick) return performance.now() - finished;
      await sleep(20);
    }
    return null;
  }
}
