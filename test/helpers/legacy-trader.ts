// The Python legacy trader (legacy_trader.py) as a child process, its events read as they happen.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';

export interface LegacyTrader<Event> {
  /** Every event printed so far. */
  events: Event[];
  /** Called with each event as it is printed. */
  onEvent(listener: (event: Event) => void): void;
  /** Resolves once it is done (it rejects on a non-zero code, with what it said). */
  done: Promise<void>;
  /** Ends it (SIGTERM) and waits for it: done resolves. */
  stop(): Promise<void>;
}

const SCRIPT = join(import.meta.dirname, 'legacy_trader.py');

// A test that fails half-way leaves no legacy writer behind to write into the next test's files.
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

export function runLegacyTrader<Event = Record<string, unknown>>(args: (string | number)[]): LegacyTrader<Event> {
  const child = spawn('python3', [SCRIPT, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Event[] = [];
  const listeners: ((event: Event) => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as Event;
    events.push(event);
    for (const listener of listeners) listener(event);
  });
  let stopped = false;
  const done = once(child, 'exit').then(([code]) => {
    if (code !== 0 && !stopped) throw new Error(`legacy_trader.py ${args.join(' ')} exited ${code}: ${stderr}`);
  });
  running.add(child);
  void done.finally(() => running.delete(child)).catch(() => {});
  return {
    events,
    onEvent: (listener) => void listeners.push(listener),
    done,
    async stop() {
      stopped = true;
      child.kill('SIGTERM');
      await done;
    },
  };
}
