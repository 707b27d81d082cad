// The built server as a child process: started on a data folder, driven over HTTP, killed.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
// Imported first so its folder removal is registered first: after-each hooks run last-registered
// first, so every server is killed before the folder it writes into is removed.
import './temp-dir.ts';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartResult {
  ok: false;
  code: number | null;
  stderr: string;
  logs: Record<string, unknown>[];
}

const SERVER = 'dist/src/server.js';

// Every server a test starts is killed after it, even when the test fails half-way.
const running = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all([...running].map((child) => (child.kill('SIGKILL'), once(child, 'exit'))));
});
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * How to run the server: `args` are its command line (`serve --data-dir …`), `wrap` runs it under
 * another command (`unshare …`), `nodeArgs` go before the script.
 */
export interface LaunchOptions {
  args?: string[];
  wrap?: string[];
  nodeArgs?: string[];
  /** Keep stdin open as a pipe (a start gate reads it). */
  stdin?: boolean;
}

function launch(env: Record<string, string>, { args: serverArgs = [], wrap = [], nodeArgs = [], stdin = false }: LaunchOptions = {}) {
  const [command = process.execPath, ...args] = [...wrap, process.execPath, ...nodeArgs, SERVER, ...serverArgs];
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  running.add(child);
  const exited = once(child, 'exit').then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return { child, logs, exited, stderr: () => stderr };
}

/** Starts the server; `listening` resolves once it listens (or rejects with what it said when it exits first). */
export function launchServer(env: Record<string, string>, options: LaunchOptions = {}) {
  const { child, logs, exited, stderr } = launch(env, options);
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<ServerProcess>((resolve, reject) => {
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry.port === 'number' && String(entry.msg).includes('listening')) {
        resolve({
          child,
          url: `http://127.0.0.1:${entry.port}`,
          logs,
          stderr,
          exited,
          async kill(signal = 'SIGKILL') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(Object.assign(new Error(`server exited with ${code} before listening: ${stderr()}`), { code })));
  });
  return { child, logs, exited, stderr, listening };
}

/** Starts the server and resolves once it listens (or rejects with what it said when it exits first). */
export async function startServer(env: Record<string, string>, options: LaunchOptions = {}): Promise<ServerProcess> {
  return launchServer(env, options).listening;
}

/** Runs the server expecting it to refuse to start; resolves with its exit code and words. */
export async function startExpectingFailure(env: Record<string, string>, options: LaunchOptions = {}): Promise<StartResult> {
  const { child, logs, exited, stderr } = launch(env, options);
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      /* not a log line */
    }
  });
  const code = await exited;
  return { ok: false, code, stderr: stderr(), logs };
}

export async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  json(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
