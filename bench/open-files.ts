// File descriptors for the event fan-out: N client sockets in this process and N in the server,
// which inherits this process's limit. A soft limit below that is raised (up to the hard limit) by
// running the bench again under `ulimit -S -n`; past the hard limit, fewer clients connect.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Pipes, the data folder, the journal, watchers, autocannon: what a process needs besides the clients. */
const SPARE = 200;
const RAISED = 'BALANCE_SYNC_BENCH_ULIMIT_RAISED';

function openFilesLimit(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const parse = (value: string | undefined) => (value === undefined || value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value));
  return { soft: parse(line?.[1]), hard: parse(line?.[2]) };
}

/**
 * How many event-stream clients this process can hold. When the soft limit is too low but the hard
 * one is not, never returns: it runs the bench again with the soft limit raised and exits with its code.
 */
export function affordableClients(wanted: number): { clients: number; note?: string } {
  const needed = wanted + SPARE;
  const { soft, hard } = openFilesLimit();
  if (soft >= needed) return { clients: wanted };
  if (hard >= needed && !process.env[RAISED]) {
    process.stderr.write(`bench: ulimit -n is ${soft}; running again with ${needed} for ${wanted} event-stream clients\n`);
    const again = spawnSync('/bin/sh', ['-c', 'ulimit -S -n "$1" && shift && exec "$0" "$@"', process.execPath, String(needed), ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [RAISED]: '1' },
    });
    process.exit(again.status ?? 1);
  }
  const clients = Math.max(1, Math.min(wanted, soft - SPARE));
  return { clients, note: `only ${clients} clients: ulimit -n is ${soft} (hard ${hard}), ${needed} needed; raise it` };
}
