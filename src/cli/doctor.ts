// `balance-sync doctor`: what start-up would decide on a data folder, and why, in plain words —
// found by reading only: no lock taken, no file written, renamed or trimmed.

import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { formatAmount, parseAmount } from '../domain/amount.ts';
import type { FileState } from '../domain/reconcile.ts';
import { decideStartup } from '../domain/settle-from-disk.ts';
import { UpstreamProbe } from '../front/upstream-probe.ts';
import { whoHolds } from '../store/data-dir-lock.ts';
import { isTempFileOf } from '../store/durable-write.ts';
import { balanceFileShape, decode, tradingStateShape, type FileShape } from '../store/file-decoding.ts';
import { readJournal } from '../store/journal-reader.ts';
import { peekAccount } from '../store/postgres/peek.ts';
import { mtimeMsOf, readText } from '../store/text-file.ts';
import { describeDecision, describeFile, describeHolder, describeJournal, describeLeftovers, type Findings } from './doctor-report.ts';

/** A decimal text of the database (`15000.00000000`) as the API would show it. */
const exact = (text: string): string => ((parsed) => (parsed.ok ? formatAmount(parsed.value) : text))(parseAmount(text, { lenient: true }));

export interface DoctorResult {
  text: string;
  /** 0: start-up would succeed; 1: it would refuse. */
  code: 0 | 1;
}

/** What one data file holds, read as start-up reads it; a name that start-up could not read at all is a fault. */
async function inspectFile(path: string, shape: FileShape): Promise<{ state: FileState } | { fault: string }> {
  try {
    const read = await readText(path);
    if (read === null) return { state: { status: 'missing' } };
    if (read.special) return { state: { status: 'corrupt', reason: `not a regular file (${read.special})` } };
    return { state: decode(shape, read.text, mtimeMsOf(read.fingerprint)).state };
  } catch (error) {
    return { fault: (error as NodeJS.ErrnoException).code === 'EISDIR' ? 'a directory, not a file' : (error as Error).message };
  }
}

export async function doctor(config: Config, nowMs = Date.now()): Promise<DoctorResult> {
  const dir = resolve(config.DATA_DIR);
  const lines = [`balance-sync doctor — ${dir}`, ''];
  const folder = await stat(dir).catch(() => null);
  if (!folder?.isDirectory()) {
    lines.push(folder ? `${dir} is not a folder: start-up would fail.` : `The folder does not exist: start-up would create it and start from INITIAL_BALANCE (${formatAmount(config.INITIAL_BALANCE)}).`);
    return { text: `${lines.join('\n')}\n`, code: folder ? 1 : 0 };
  }

  const [holder, names, journal] = await Promise.all([whoHolds(dir), readdir(dir), readJournal(dir)]);
  const files = await Promise.all(
    [
      { name: config.BALANCE_FILE, shape: balanceFileShape },
      { name: config.TRADING_STATE_FILE, shape: tradingStateShape },
    ].map(async ({ name, shape }) => ({ name, ...(await inspectFile(join(dir, name), shape)) })),
  );
  const findings: Findings = { dir, holder, journal, files, names, config };
  lines.push(describeHolder(holder), '', 'Files:', ...files.map(describeFile), '', describeJournal(journal), '');

  let code: 0 | 1 = holder.state === 'held' ? 1 : 0;
  const faults = files.flatMap((file) => ('fault' in file ? [file] : []));
  if (faults.length > 0) {
    code = 1;
    lines.push(`Start-up would fail: ${faults.map((file) => `${file.name} is ${file.fault}`).join('; ')}. Move it out of the way (it is kept, not read), then start again.`);
  } else {
    // The very decision start-up makes (src/domain/settle-from-disk.ts), from the same reading of the files.
    const readable = files.flatMap((file) => ('state' in file ? [{ name: file.name, state: file.state }] : []));
    const { decision } = await decideStartup(readable, journal, { initialBalance: config.INITIAL_BALANCE, nowMs });
    if (decision.action === 'refuse') code = 1;
    lines.push(...describeDecision(decision, readable, findings));
  }
  const leftovers = describeLeftovers(names, [config.BALANCE_FILE, config.TRADING_STATE_FILE], isTempFileOf);
  if (leftovers.length > 0) lines.push('', 'Left over in the folder:', ...leftovers);

  if (config.UPSTREAM_URL) {
    const upstream = await new UpstreamProbe(config.UPSTREAM_URL).status();
    lines.push('', `Legacy backend (${config.UPSTREAM_URL}): ${upstream.reachable ? 'answers' : `does not answer (${upstream.error})`}.`);
  }
  if (config.DATABASE_URL) {
    const url = new URL(config.DATABASE_URL);
    url.password = url.password ? '***' : '';
    const peek = await peekAccount(config.DATABASE_URL, config.ACCOUNT);
    const what = !peek.reachable
      ? `does not answer (${peek.error})`
      : !peek.tables
        ? 'answers, and holds no balance-sync tables yet: the first host to start creates them and brings its balance in'
        : peek.account
          ? `answers; account "${config.ACCOUNT}" is at revision ${peek.account.revision} with ${exact(peek.account.balance)} (updated ${peek.account.updatedAt}); a host that starts takes that balance into its files`
          : `answers; it does not hold account "${config.ACCOUNT}" yet: the first host to start brings this folder's balance, revision and journal in`;
    lines.push('', `Database (${url.toString()}): ${what}.`);
  }
  lines.push('', code === 0 ? 'Verdict: start-up would succeed.' : 'Verdict: start-up would refuse (see above).');
  return { text: `${lines.join('\n')}\n`, code };
}
