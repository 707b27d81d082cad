// The processes a run starts (the service, its baselines): each on a free port, and each ended
// again whatever happens — a failed section, an exception, Ctrl-C.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Child {
  port: number;
  pid: number;
  /** From spawn to the "listening" log line. */
  readyMs: number;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

const START_DEADLINE_MS = 20_000;
const STOP_DEADLINE_MS = 5_000;

const running = new Map<ChildProcess, Promise<void>>();

// Whatever ends this process (an uncaught error, a signal) ends its children too.
process.once('exit', () => {
  for (const child of running.keys()) child.kill('SIGKILL');
});
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

async function end(child: ChildProcess): Promise<void> {
  const exited = running.get(child);
  if (!exited) return;
  child.kill('SIGTERM');
  const deadline = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
  await exited;
  clearTimeout(deadline);
}

/** Starts `node <script> ...args` with PORT=0 and waits for its JSON "listening" line with the port. */
export async function launch(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Child> {
  const started = performance.now();
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  running.set(child, exited);
  void exited.then(() => running.delete(child));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not listen within ${START_DEADLINE_MS} ms`)), START_DEADLINE_MS);
      // Read every line, not just the first: a child whose stdout pipe fills up would stall.
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { port?: unknown; msg?: unknown };
          if (typeof entry.port === 'number' && String(entry.msg).includes('listening')) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      });
      child.once('error', reject);
      void exited.then(() => reject(new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before listening`)));
    });
    return { port, pid: child.pid as number, readyMs: performance.now() - started, stop: () => end(child) };
  } catch (error) {
    await end(child);
    throw error;
  }
}

/** Ends every child still running. */
export const stopAll = (): Promise<void[]> => Promise.all([...running.keys()].map(end));
