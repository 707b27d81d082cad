// A 10 MB trading state: save p50 against one plain durable rewrite of the same file, readiness
// after a start on it, and RSS after saves.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch } from './children.ts';
import { plainRewriteMs } from './durable-floor.ts';
import { timedPosts } from './load.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { median, rssMiB } from './stats.ts';

export async function measureBigState(serverScript: string, work: string): Promise<void> {
  const big = join(work, 'big');
  await mkdir(big);
  const trade = (i: number) => ({ id: i, symbol: 'BTCUSDT', side: i % 2 ? 'buy' : 'sell', qty: 0.015, price: 64_000 + i, pnl: ((i % 200) - 100) / 7, at: '2026-11-23T10:00:00Z' });
  const tradeLog = Array.from({ length: 70_000 }, (_, i) => trade(i));
  const state = JSON.stringify({ enabled: true, symbol: 'BTCUSDT', balance: 10000, open_trades: [], trade_log: tradeLog }, null, 2);
  await writeFile(join(big, 'auto_trading_state.json'), state);
  await writeFile(join(big, 'virtual_balance.json'), JSON.stringify({ balance: 10000 }));

  const service = await launch(serverScript, [], { DATA_DIR: big });
  const bigSave = median(await timedPosts(`http://127.0.0.1:${service.port}/virtual_balance`, plan.bigSaves, (i) => ({ balance: 20_000 + i })));
  const bigRss = await rssMiB(service.pid);
  await service.stop();
  const restarted = await launch(serverScript, [], { DATA_DIR: big });
  const readyMs = restarted.readyMs;
  await restarted.stop();

  const copy = join(work, 'plain-rewrite.json');
  await writeFile(copy, state);
  const plain = median(await plainRewriteMs(copy, plan.bigSaves));
  record({ figure: `10 MB state (${(state.length / 1e6).toFixed(1)} MB): save p50 (ms)`, value: bigSave, baseline: plain, unit: 'ms', target: '≤ 1.5 × plain durable rewrite', met: (r) => r <= 1.5 });
  record({ figure: '10 MB state: ready after start (ms)', value: readyMs, unit: 'ms', target: '≤ 1,000 ms', met: (v) => v <= 1000 });
  record({ figure: '10 MB state: RSS after saves (MiB)', value: bigRss, unit: 'MiB', target: 'informational', met: () => true });
}
