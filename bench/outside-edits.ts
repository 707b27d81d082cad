// Outside edits: how long after another process atomically rewrites the trading state the service
// serves the new balance (no baseline: an absolute target).

import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { percentile, sleep } from './stats.ts';

export async function measureOutsideEdits(url: string, dataDir: string): Promise<void> {
  const edits: number[] = [];
  for (let i = 0; i < plan.edits; i++) {
    const balance = 5000 + i;
    const started = performance.now();
    await writeFileAtomic(join(dataDir, 'auto_trading_state.json'), JSON.stringify({ balance, enabled: true }));
    for (;;) {
      const served = (await (await fetch(`${url}/virtual_balance`)).json()) as { balance: number };
      if (served.balance === balance) break;
      if (performance.now() - started > 5_000) throw new Error(`an outside edit to ${balance} was not served within 5 s`);
      await sleep(2);
    }
    edits.push(performance.now() - started);
    await sleep(150);
  }
  record({ figure: 'outside edit → served, p50 (ms)', value: percentile(edits, 50), unit: 'ms', target: 'informational', met: () => true });
  record({ figure: 'outside edit → served, p95 (ms)', value: percentile(edits, 95), unit: 'ms', target: '≤ 300 ms', met: (v) => v <= 300 });
}
