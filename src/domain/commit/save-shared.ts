// One try at saving a batch when the truth is shared by several hosts (DATABASE_URL): the files are
// looked at here, but what the outside edits and the queued requests do is decided inside the shared
// transaction, from the balance and journal every host sees; both files are staged while the account
// is held, and put in place once it is committed.

import { randomUUID } from 'node:crypto';
import { toRecord, type ChangeRequest, type Snapshot } from '../change.ts';
import { hasOutsideBalance, judgeOutside, lookAtFiles, nothingSeen, outsideReport, type OutsideEdits } from '../outside-edits.ts';
import { asFileFault, type BalanceStore, type PreparedWrite } from '../ports.ts';
import { onHost, type SharedDecision, type SharedTruth } from '../shared-truth.ts';
import { planBatch, type Plan } from './plan.ts';
import type { Saved, SaveDeps } from './save-batch.ts';
import { firstFailure, isRace } from './write-through.ts';

export interface SharedSaveDeps extends Omit<SaveDeps, 'journal'> {
  truth: SharedTruth;
}

interface Decided<Job> extends SharedDecision {
  plan: Plan<Job>;
  outside: OutsideEdits;
  staged: { store: BalanceStore; write: PreparedWrite }[];
}

/**
 * Both files' new versions, written at the same time, then looked at once more (a race found here
 * sends the batch round again). This runs while the account is held: every host's changes wait for
 * it. So the two writes overlap rather than follow each other, and their fsyncs are started but not
 * waited for: they run beside the COMMIT's round trip, and the renames after COMMIT wait for them.
 * (A full disk or a file that cannot be written still refuses the batch before anything commits; a
 * failed fsync is a change committed but not in this host's files.)
 */
async function stage(stores: readonly BalanceStore[], snapshot: Snapshot, overwrite: boolean) {
  const staging = await Promise.allSettled(stores.map((store) => store.prepare(toRecord(snapshot), { deferFsync: true }).catch(asFileFault(store.name))));
  const staged: Decided<unknown>['staged'] = staging.flatMap((result, i) => (result.status === 'fulfilled' ? [{ store: stores[i] as BalanceStore, write: result.value }] : []));
  // (Its failure is met where it is awaited, after COMMIT; a discarded version's close waits for it.)
  for (const { write } of staged) write.fsync().catch(() => {});
  try {
    firstFailure(staging);
    firstFailure(await Promise.allSettled(staged.map(({ store, write }) => write.lastLook({ overwrite }).catch(asFileFault(store.name)))));
    return staged;
  } catch (error) {
    await Promise.all(staged.map(({ write }) => write.discard()));
    throw error;
  }
}

export async function saveShared<Job extends { request: ChangeRequest; queuedAt?: number }>(
  deps: SharedSaveDeps,
  before: Snapshot,
  jobs: readonly Job[],
  options: { rereadAll: boolean; look: boolean; retry: ReadonlySet<string>; overwrite?: boolean; followUps?: number },
): Promise<Saved<Job>> {
  let saved: Saved<Job> = { status: 'failed', before, snapshot: before, outcomes: [], tradingMoved: false, adopted: [], staleRefused: [], quarantined: [], wrote: false };
  let staged: Decided<Job>['staged'] = [];
  const overwrite = options.overwrite ?? false;
  const needsWriting = (snapshot: Snapshot, requested: boolean) =>
    deps.stores.filter((store) => requested || store.lastSeen().balance !== snapshot.balance || options.retry.has(store.name));
  try {
    const looked = options.rereadAll || options.look || jobs.length === 0 ? await lookAtFiles(deps, options.rereadAll) : nothingSeen;
    saved.quarantined = looked.quarantined;
    let decided: Decided<Job>;
    // Following the shared balance only: its versions go in place over anything (merged after, held).
    const followedOnly = jobs.length === 0 && !hasOutsideBalance(looked);
    if (followedOnly) {
      // Nothing to decide: the files follow the shared balance (another host's change, a file to heal).
      // A change that left the balance as it was (a delta of 0) is a revision all the same: both files take it.
      const head = (await deps.truth.head()) ?? before;
      const outside = await judgeOutside({ ...deps, journal: deps.truth }, head, looked);
      staged = await stage(needsWriting(head, head.revision !== before.revision), head, true);
      decided = { snapshot: head, entries: [], outside, plan: { snapshot: head, entries: [], outcomes: [] }, staged };
    } else {
      const keys = jobs.flatMap(({ request }) => (request.idempotency ? [request.idempotency.key] : []));
      const commitId = randomUUID();
      let judging = deps.legacy.draft();
      const decide = async (context: Parameters<Parameters<SharedTruth['commit']>[1]>[0]): Promise<Decided<Job>> => {
        // A decision may be made again (the transaction was tried again, its COMMIT absent): the last
        // one's versions go, and so does what it remembered of the outside writes. Remembered, they
        // were "judged before" in the decision made again, and left out of what it committed.
        await Promise.all(staged.splice(0).map(({ write }) => write.discard()));
        judging = deps.legacy.draft();
        const outside = await judgeOutside({ ...deps, legacy: judging, journal: { writeBackHistory: context.writeBackHistory } }, context.current, looked);
        const plan = planBatch(outside.snapshot, jobs, { initialBalance: deps.initialBalance, at: context.now, remembered: (key) => context.remembered.get(key) });
        const entries = [...outside.entries, ...plan.entries].map((entry) => onHost(entry, deps.truth.hostId));
        staged = await stage(needsWriting(plan.snapshot, plan.entries.length > 0 || outside.entries.length > 0 || plan.snapshot.revision !== before.revision), plan.snapshot, overwrite);
        return { snapshot: plan.snapshot, entries, outside, plan, staged };
      };
      // A COMMIT whose answer was lost has been looked up by its id for as long as a change may take
      // (applied: this is its answer). Still unknown, it is a 503 that says so, not a failure: a
      // client that sends it again with its Idempotency-Key gets the first answer if it was applied.
      const queuedAt = Math.min(...jobs.map((job) => job.queuedAt ?? Infinity));
      decided = await deps.truth.commit({ commitId, keys, ...(Number.isFinite(queuedAt) && { queuedAt }) }, decide);
      judging.keep();
    }
    const { plan, outside } = decided;
    saved = {
      ...saved,
      snapshot: decided.snapshot,
      outcomes: plan.outcomes,
      ...outsideReport(outside),
      wrote: decided.staged.length > 0 || decided.entries.length > 0,
      status: 'committed',
    };
    // Committed (or nothing to commit): the files take it — each after one more last look, right before
    // its rename, as on one host. The look inside the transaction came a COMMIT round trip earlier, and
    // a legacy writer that renamed its own version into place meanwhile would have it unlinked, unseen,
    // by ours. Found now (or by the rename's own check, a system call before it), that version is left
    // in place and judged at once on top of what was committed (below). An outside edit written into
    // the version in place after this look stays in it once replaced, and is merged from there at the
    // next look (guarded-rename.ts).
    const raced: string[] = [];
    try {
      const renames = decided.staged.map(async ({ store, write }) => {
        try {
          // Durable before the look (the fsync started in stage()): the look and the rename stay close together.
          await write.fsync();
          await write.lastLook({ overwrite: followedOnly || overwrite });
          // (The rename checks once more, right before it, that the version looked at is still in place.)
          await write.commit();
        } catch (error) {
          if (!isRace(error)) return asFileFault(store.name)(error);
          raced.push(store.name);
          return;
        }
        await deps.afterStep?.(store.name);
      });
      firstFailure(await Promise.allSettled(renames));
      if (decided.staged.length > raced.length) await deps.syncFolder();
    } catch (error) {
      await Promise.all(decided.staged.map(({ write }) => write.discard()));
      return { ...saved, unwritten: error };
    }
    const followUps = options.followUps ?? FOLLOW_UPS;
    if (raced.length === 0 || followUps === 0) return saved;
    return followRacedWrite(deps, saved, { retry: options.retry, followUps }, overwrite, raced);
  } catch (error) {
    await Promise.all(staged.map(({ write }) => write.discard()));
    if (isRace(error)) return { ...saved, status: 'raced' };
    return { ...saved, status: 'failed', failure: error };
  }
}

/** How often a batch's files may be raced after COMMIT before the edit is left to the next look. */
const FOLLOW_UPS = 3;

/**
 * A legacy write that landed between a committed batch's looks and its renames: a batch of its own,
 * right away, with no requests — the edit judged on top of what was just committed (the booking rule)
 * and both files written with the result. The batch's requests keep their answers (their revisions);
 * the files hold a later one that includes them. Raced again and again, the edit stays in its file
 * for the next batch, which reads every file again: never overwritten unseen.
 *
 * Why the edit cannot be lost on the way: the follow-up judges it in a draft of the legacy memory of
 * its own, kept only if its batch commits. Judged in the committed batch's draft instead, a follow-up
 * that raced (the writer wrote again before it committed) left the edit's balance remembered as what
 * its writer knew, while the booking itself was never committed: the writer's next save was judged
 * against it, and the booking vanished (or its echo was refused as a stale write-back).
 */
async function followRacedWrite<Job extends { request: ChangeRequest; queuedAt?: number }>(
  deps: SharedSaveDeps,
  saved: Saved<Job>,
  options: { retry: ReadonlySet<string>; followUps: number; rereadAll?: boolean },
  overwrite: boolean,
  raced: readonly string[],
): Promise<Saved<Job>> {
  if (!options.rereadAll) deps.log.info({ files: raced }, 'a legacy write landed while the change was committing: judging it on top of the committed balance');
  const legacy = deps.legacy.draft();
  const followUps = options.followUps - 1;
  const next = await saveShared<Job>({ ...deps, legacy }, saved.snapshot, [], { rereadAll: options.rereadAll ?? false, look: true, retry: options.retry, overwrite, followUps });
  // Raced before its COMMIT: what it read is unapplied, so the next try reads every file again.
  if (next.status === 'raced' && followUps > 0) return followRacedWrite(deps, saved, { ...options, followUps, rereadAll: true }, overwrite, raced);
  // Not committed (raced too often, or the database went away): the edit is still in its file, but
  // this look moved past it. The next batch reads every file again, and judges it there.
  if (next.status !== 'committed') return { ...saved, rereadNext: true };
  legacy.keep();
  return {
    ...saved,
    snapshot: next.snapshot,
    tradingMoved: saved.tradingMoved || next.tradingMoved,
    adopted: [...saved.adopted, ...next.adopted],
    staleRefused: [...saved.staleRefused, ...next.staleRefused],
    quarantined: [...saved.quarantined, ...next.quarantined],
    wrote: true,
    ...(next.rereadNext && { rereadNext: true }),
    ...(next.unwritten !== undefined && { unwritten: next.unwritten }),
  };
}
