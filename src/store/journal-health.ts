// What the journal tells /health and the metrics: whole, broken (and why), or put back (and when).

import type { JournalHealth, Log } from '../domain/ports.ts';
import { JOURNAL_FILE } from './journal-files.ts';

export class JournalHealthState {
  private state: JournalHealth = { file: JOURNAL_FILE, ok: true };
  /** The problem still to be mended (see journal-recovery.ts); null while the journal is whole. */
  trouble: string | null = null;
  private readonly listeners: ((health: JournalHealth) => void)[] = [];

  constructor(private readonly log: Log) {}

  get current(): JournalHealth {
    return this.state;
  }

  onChange(listener: (health: JournalHealth) => void): void {
    this.listeners.push(listener);
  }

  /** The journal is whole; `recreated` says how it was put back, if it was. */
  whole(recreated?: JournalHealth['recreated']): void {
    this.trouble = null;
    this.set({ file: JOURNAL_FILE, ok: true, ...(recreated && { recreated }) });
  }

  /** `trouble` keeps it from being whole; logged at error once per problem, not on every look. */
  broken(trouble: string, problem: string, error: unknown): void {
    this.trouble = trouble;
    if (problem !== this.state.problem) this.log.error({ file: JOURNAL_FILE, err: error }, `the journal ${problem}: changes are refused (503) until it is whole again`);
    this.set({ file: JOURNAL_FILE, ok: false, problem });
  }

  private set(next: JournalHealth): void {
    const changed = next.ok !== this.state.ok || next.problem !== this.state.problem || next.recreated !== this.state.recreated;
    this.state = next;
    if (changed) for (const listener of this.listeners) listener(next);
  }
}
