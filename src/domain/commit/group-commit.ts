// Group commit: jobs queued while a batch is on disk go to disk together, in one batch, next.

export class GroupCommit<Job> {
  private queue: Job[] = [];
  private draining: Promise<void> | null = null;

  /** `commit` handles every job it is given, failures included: it never throws. */
  constructor(private readonly commit: (batch: Job[]) => Promise<void>) {}

  enqueue(job: Job): void {
    this.queue.push(job);
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  /** Resolves once every job queued so far, and every one queued meanwhile, is done. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commit(this.queue.splice(0));
  }
}
