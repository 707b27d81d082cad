// The words of `balance-sync doctor`: each finding about a data folder as a line an operator reads.

import type { Config } from '../config.ts';
import { formatAmount } from '../domain/amount.ts';
import type { Decision, FileState } from '../domain/reconcile.ts';
import type { Holder } from '../store/data-dir-lock.ts';
import type { JournalOnDisk } from '../store/journal-reader.ts';

export interface Findings {
  dir: string;
  holder: Holder;
  journal: JournalOnDisk;
  files: ({ name: string } & ({ state: FileState } | { fault: string }))[];
  names: readonly string[];
  config: Config;
}

const at = (ms: number) => new Date(ms).toISOString();
const size = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

export function describeHolder({ state, owner, legacy }: Holder): string {
  const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'an unknown process';
  if (legacy?.running) return `Lock: held by pid ${legacy.pid} (an earlier version of balance-sync), which is running: a start would refuse — stop it first.`;
  if (state === 'held') return `Lock: held by ${who}, which is running: a second balance-sync would refuse to start (exit 1). Stop that one first, or doctor a copy of the folder.`;
  if (state === 'abandoned') return `Lock: left by ${who}, which is no longer running (killed, or the machine restarted): start-up takes it over.`;
  return 'Lock: free — no balance-sync holds this folder.';
}

export function describeFile(file: Findings['files'][number]): string {
  const name = file.name.padEnd(26);
  if ('fault' in file) return `  ${name}${file.fault}: start-up cannot read it`;
  const { state } = file;
  switch (state.status) {
    case 'missing':
      return `  ${name}missing (start-up writes it)`;
    case 'corrupt':
      return `  ${name}corrupt: ${state.reason}`;
    case 'no-balance':
      return `  ${name}holds no balance (its other fields are kept; the balance is written into it)`;
    case 'unreadable':
      return `  ${name}holds a balance that cannot be read: ${state.reason}`;
    case 'valid':
      return `  ${name}${formatAmount(state.balance)}${state.revision === null ? '' : ` (revision ${state.revision})`}, modified ${at(state.mtimeMs)}`;
  }
}

export function describeJournal({ head, file, segments, skipped }: JournalOnDisk): string {
  const parts = [
    file.state === 'missing' ? 'balance_journal.jsonl is missing' : file.state === 'not a file' ? 'balance_journal.jsonl is not a file (start-up moves it aside)' : `balance_journal.jsonl, ${size(file.bytes)}${file.tornTail ? ', its last line torn (start-up trims it)' : ''}`,
    head ? `last entry: revision ${head.revision}, ${formatAmount(head.balance)} at ${head.at} (${head.source})` : 'no entry',
    segments.length === 0 ? 'no rotated segments' : `${segments.length} rotated segment${segments.length === 1 ? '' : 's'} (${size(segments.reduce((sum, s) => sum + s.bytes, 0))})`,
    ...(skipped.length > 0 ? [`skipped (not files): ${skipped.join(', ')}`] : []),
  ];
  return `Journal: ${parts.join('; ')}.`;
}

export function describeDecision(decision: Decision, files: readonly { name: string; state: FileState }[], { config }: Findings): string[] {
  if (decision.action === 'refuse') {
    const which = decision.corrupt.map((name) => `${name} (${reasonOf(files.find((f) => f.name === name)?.state)})`).join(' and ');
    return [
      `Start-up would refuse (exit 1): ${which} cannot be read, and no other file or journal entry holds the balance.`,
      `  To recover: repair the file so it holds {"balance": <amount>}, or move it out of ${config.DATA_DIR} to start from INITIAL_BALANCE (${formatAmount(config.INITIAL_BALANCE)}).`,
      '  Until then every start refuses the same way, and leaves both files exactly as they are.',
    ];
  }
  const lines = [`Start-up would serve ${formatAmount(decision.balance)} at revision ${decision.revision}: ${decision.reason}.`];
  if (decision.winner === 'initial') lines[0] = `Start-up would start from INITIAL_BALANCE, ${formatAmount(decision.balance)}, at revision ${decision.revision}: ${decision.reason}.`;
  for (const { name, state } of files) {
    if (state.status === 'corrupt' || state.status === 'unreadable') lines.push(`  It would keep ${name}'s bytes as ${name}.corrupt-<UTC time> first, then write the balance into it.`);
  }
  for (const name of decision.stale) lines.push(`  ${name} holds a stale write-back (a copy read before the journal's last change): its balance is refused, its other fields kept.`);
  for (const { source, timeMs } of decision.future) lines.push(`  ${source} has a time in the future (${at(timeMs)}): it ranks below every source whose time is not.`);
  lines.push(`  Both files would then hold ${formatAmount(decision.balance)}.`);
  return lines;
}

/** Temp files of interrupted writes, `.corrupt-` copies, displaced journals, temp files of the lock and the journal. */
export function describeLeftovers(names: readonly string[], files: readonly string[], isTempFileOf: (file: string, name: string) => boolean): string[] {
  return [...names].sort().flatMap((name) => {
    if (files.some((file) => isTempFileOf(file, name))) return [`  ${name}: a temp file of a write that was interrupted (start-up removes it)`];
    if (files.some((file) => name.startsWith(`${file}.corrupt-`))) return [`  ${name}: the bytes of a corrupt or unreadable file, kept (delete it once you no longer need it)`];
    if (name.startsWith('balance_journal.jsonl.displaced-')) return [`  ${name}: whatever stood in the journal's place once, kept`];
    if (/^balance_journal\.jsonl\.tmp-|^\.balance-sync\.lock\.tmp-/.test(name)) return [`  ${name}: a temp file of an interrupted start (start-up removes it)`];
    return [];
  });
}

const reasonOf = (state: FileState | undefined) => (state && (state.status === 'corrupt' || state.status === 'unreadable') ? state.reason : 'unreadable');
