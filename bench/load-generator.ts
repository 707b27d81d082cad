// Throughput from a load generator in a process of its own, so that it is not the limit: wrk (Debian's
// `wrk`) when installed, else autocannon's command line in a child process.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { plan } from './plan.ts';

const run = promisify(execFile);
const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((path) => existsSync(path));
const AUTOCANNON = join(import.meta.dirname, '..', '..', 'node_modules', 'autocannon', 'autocannon.js');

export const loadGenerator = WRK ? 'wrk' : 'autocannon (a process of its own)';

/** Requests per second at `connections`, over the plan's duration; throws on any answer but 2xx. */
export async function requestsPerSecond(url: string, connections = 50, seconds = plan.seconds): Promise<number> {
  if (WRK) {
    const { stdout } = await run(WRK, ['-t1', `-c${connections}`, `-d${seconds}s`, url]);
    const failed = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(stdout);
    if (failed) throw new Error(`wrk ${url}: ${failed[0]}`);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  }
  const { stdout } = await run(process.execPath, [AUTOCANNON, '-j', '-c', String(connections), '-d', String(seconds), url], { maxBuffer: 1 << 24 });
  const result = JSON.parse(stdout) as { non2xx: number; errors: number; requests: { average: number } };
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`autocannon ${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}
