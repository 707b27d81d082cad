// The soak's service: the built server on a fixed port (so clients keep one address across restarts),
// killed with SIGKILL and started again, its resident memory and open files sampled.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { rssMiB, sleep } from './stats.ts';

/** A free port on loopback, picked once. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

export class SoakService {
  private child: ChildProcess | null = null;
  /** Lines the server logged at warn or above, by message. */
  readonly warnings = new Map<string, number>();
  restarts = 0;
  /** When each kill -9 came, in ms since the service was made. */
  readonly restartsAt: number[] = [];
  private readonly began = performance.now();

  constructor(
    private readonly script: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until /health answers. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [this.script], {
      env: { PATH: process.env.PATH ?? '', PORT: String(this.port), LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const { msg } = JSON.parse(line) as { msg?: string };
        if (msg) this.warnings.set(msg, (this.warnings.get(msg) ?? 0) + 1);
      } catch {
        // not a log line
      }
    });
    for (let waited = 0; ; waited += 50) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} at start-up`);
      if (await fetch(`${this.url}/health`).then(() => true, () => false)) return;
      if (waited > 30_000) throw new Error('the service did not answer within 30 s of its start');
      await sleep(50);
    }
  }

  /** kill -9, then a start on the same folder and port. */
  async crashAndRestart(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    this.restarts++;
    this.restartsAt.push(performance.now() - this.began);
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }

  /** Resident memory (MiB) and open file descriptors of the running process, or null between lives. */
  async sample(): Promise<{ rss: number; fds: number } | null> {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null) return null;
    try {
      return { rss: await rssMiB(pid), fds: (await readdir(`/proc/${pid}/fd`)).length };
    } catch {
      return null;
    }
  }
}
