// Who a process is beyond its pid — when it started, on which boot — so that a later process that
// got the same pid (pid 1 in every container, a recycled pid, our own pid) is never taken for an earlier one.

import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** Clock ticks from boot to the process's start (/proc/<pid>/stat, field 22); null without /proc. */
  startTicks: number | null;
  /** /proc/sys/kernel/random/boot_id: changes with every boot; null without /proc. */
  bootId: string | null;
  /** For people reading the lock: not part of the identity (a container gets a new one on every run). */
  host: string;
  pidNamespace: string | null;
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

const readOrNull = (path: string) => readFile(path, 'utf8').catch(() => null);

export async function bootId(): Promise<string | null> {
  return (await readOrNull('/proc/sys/kernel/random/boot_id'))?.trim() || null;
}

/** The state letter and start time of a process as this process's /proc shows it; null when there is none. */
export async function processStat(pid: number | 'self'): Promise<{ state: string; startTicks: number } | null> {
  const text = await readOrNull(`/proc/${pid}/stat`);
  if (text === null) return null;
  // The command name (field 2) may hold spaces and parentheses: the fields that follow its last ')' are plain.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  return fields[0] && Number.isSafeInteger(startTicks) ? { state: fields[0], startTicks } : null;
}

export async function identify(pid = process.pid): Promise<ProcessIdentity> {
  const [stat, boot, namespace] = await Promise.all([processStat(pid === process.pid ? 'self' : pid), bootId(), readlink('/proc/self/ns/pid').catch(() => null)]);
  return { pid, startTicks: stat?.startTicks ?? null, bootId: boot, host: hostname(), pidNamespace: namespace };
}

/**
 * Whether `owner` is still running, as seen from `self`. Another boot's processes are all gone. On
 * this boot the pid must be running *and* have started at the owner's start time: a pid that now
 * belongs to someone else, or to ourselves, is not the owner. A zombie (killed, not yet reaped) is
 * gone. Without /proc only the pid can be asked: our own pid is not the owner (we are the one
 * process with it), any other that exists is taken for alive — a wrong "alive" costs a refusal,
 * never a second owner.
 */
export async function isRunning(owner: Pick<ProcessIdentity, 'pid' | 'startTicks' | 'bootId'>, self: ProcessIdentity): Promise<boolean> {
  if (owner.bootId && self.bootId && owner.bootId !== self.bootId) return false;
  if (owner.pid === self.pid) return owner.startTicks !== null && owner.startTicks === self.startTicks;
  if (owner.startTicks !== null && self.startTicks !== null) {
    const stat = await processStat(owner.pid);
    return stat !== null && stat.startTicks === owner.startTicks && !/^[ZXx]/.test(stat.state);
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long before `self` the owner started, in ms; null when either start time is unknown. */
export function startedBefore(owner: Pick<ProcessIdentity, 'startTicks'>, self: ProcessIdentity): number | null {
  if (owner.startTicks === null || self.startTicks === null) return null;
  return ((self.startTicks - owner.startTicks) * 1000) / TICKS_PER_SECOND;
}
