// Whether the database answers, as /health and the metrics show it: one verdict, told to whoever listens.

export interface StoreStatus {
  kind: 'postgres';
  reachable: boolean;
  /** Why not, while it is not. */
  error?: string;
}

export type ReachabilityListener = (reachable: boolean, error?: string) => void;

export class Reachability {
  private state: StoreStatus = { kind: 'postgres', reachable: true };
  private readonly listeners = new Set<ReachabilityListener>();

  /** Called when a real query failed on its link: the probe looks again at once instead of at its next turn. */
  onSuspect: () => void = () => {};

  status(): StoreStatus {
    return { ...this.state };
  }

  /** Listeners hear changes only, not every probe. */
  listen(listener: ReachabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reachable(): void {
    if (this.state.reachable) return;
    this.state = { kind: 'postgres', reachable: true };
    for (const listener of this.listeners) listener(true);
  }

  unreachable(error: string): void {
    const changed = this.state.reachable;
    this.state = { kind: 'postgres', reachable: false, error };
    if (changed) for (const listener of this.listeners) listener(false, error);
  }

  suspect(): void {
    this.onSuspect();
  }
}
