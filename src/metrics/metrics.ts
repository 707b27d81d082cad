// Prometheus metrics, fed by the events of the domain and the HTTP layer as they happen: a scrape
// only formats numbers already in memory (no disk I/O, nothing recomputed).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, register as processRegistry } from 'prom-client';
import { formatAmount } from '../domain/amount.ts';
import type { BalanceService } from '../domain/balance-service.ts';

const PREFIX = 'balance_sync_';

const reachable = (service: BalanceService) => {
  const store = service.store();
  return store.kind === 'files' || store.reachable ? 1 : 0;
};

// Process metrics are the process's, not an app's: collected once, however many apps a process builds (tests).
let processMetrics = false;

/** A save is two fsyncs deep: a few milliseconds when the disk is well, up to a second when it is not. */
const SAVE_BUCKETS = [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

export class Metrics {
  readonly registry = new Registry();
  private readonly balance = this.gauge('balance', 'The balance served, in the currency (USDT)');
  private readonly revision = this.gauge('revision', 'The revision of the balance served');
  private readonly filesAgree = this.gauge('files_agree', '1 when both files hold the balance served');
  private readonly ready = this.gauge('ready', '1 when the service is ready (the disk holds a consistent balance, the journal is whole)');
  private readonly journalOk = this.gauge('journal_ok', '1 when the journal holds every acknowledged change and key; 0 while it cannot be written or put back');
  private readonly journalRecreated = this.counter('journal_recreations_total', 'Times the journal was re-created from memory while the service ran (deleted, replaced, unwritable), by reason', ['reason']);
  private readonly saves = new Counter({
    name: `${PREFIX}saves_total`,
    help: 'Saves (batches of changes written through to disk) by outcome: committed, failed, raced (tried again), inconsistent',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly saveSeconds = new Histogram({
    name: `${PREFIX}save_duration_seconds`,
    help: 'Time to write a batch through to disk (journal, both files, folder fsync)',
    buckets: SAVE_BUCKETS,
    registers: [this.registry],
  });
  private readonly adopted = this.counter('outside_edits_adopted_total', 'Balances written to a file by another process and adopted, by file', ['file']);
  private readonly staleRefused = this.counter('stale_write_backs_refused_total', 'Stale copies written back by a legacy process whose balance was refused, by file', ['file']);
  private readonly quarantines = this.counter('quarantines_total', 'Corrupt files moved aside, by file', ['file']);
  private readonly streamClients = this.gauge('event_stream_clients', 'Clients connected to /virtual_balance/events');
  private readonly storeReachable = this.gauge('store_reachable', '1 when what holds the truth answers: always 1 with the files; with DATABASE_URL, whether PostgreSQL does');
  private readonly lag = this.gauge('lag_revisions', "With DATABASE_URL: how many revisions this host's files are behind the database, as its last heartbeat saw it");
  private readonly forwardedRequests = this.counter(
    'forwarded_requests_total',
    'Requests forwarded to the legacy backend, by the status class answered (4xx includes 499: the client went away before the answer)',
    ['class'],
  );
  private readonly forwardedByClass: { inc(): void }[] = [];
  private readonly upstreamSeconds = new Histogram({
    name: `${PREFIX}upstream_latency_seconds`,
    help: 'Time until the legacy backend started its answer (response headers)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    if (!processMetrics) collectDefaultMetrics({ register: processRegistry });
    processMetrics = true;
  }

  /** Follows the service's events; call before open() to count what start-up does (quarantines). */
  watch(service: BalanceService): void {
    const showBalance = () => {
      if (!service.ready) return;
      const { balance, revision } = service.snapshot();
      this.balance.set(Number(formatAmount(balance)));
      this.revision.set(revision);
      this.filesAgree.set(service.health().files_agree ? 1 : 0);
    };
    service.on('change', showBalance);
    // Readiness is the service's and the journal's: read it whole, whichever of the two changed. A
    // file that cannot be written is not ready and does not agree: the scrape says what /health says.
    service.on('readiness', () => {
      this.ready.set(service.health().ready ? 1 : 0);
      this.filesAgree.set(service.health().files_agree ? 1 : 0);
    });
    service.on('readiness', () => this.storeReachable.set(reachable(service)));
    service.on('fleet', (hosts) => {
      const self = hosts.find((host) => host.host_id === service.hostId);
      if (self) this.lag.set(self.lag);
    });
    this.storeReachable.set(reachable(service));
    service.on('journal', (journal) => {
      this.journalOk.set(journal.ok ? 1 : 0);
      if (journal.ok && journal.recreated) this.journalRecreated.inc({ reason: journal.recreated.reason });
    });
    service.on('saved', ({ outcome, seconds }) => {
      this.saves.inc({ outcome });
      if (outcome === 'committed') this.saveSeconds.observe(seconds);
      this.filesAgree.set(service.health().files_agree ? 1 : 0);
    });
    service.on('adopted', ({ file }) => this.adopted.inc({ file }));
    service.on('staleRefused', ({ file }) => this.staleRefused.inc({ file }));
    service.on('quarantined', ({ file }) => this.quarantines.inc({ file }));
    this.ready.set(service.health().ready ? 1 : 0);
    this.journalOk.set(service.health().journal.ok ? 1 : 0);
    showBalance();
  }

  eventStreamClients(count: number): void {
    this.streamClients.set(count);
  }

  /** One forwarded request: the status its client got, and the upstream's latency when it answered. */
  forwarded(status: number, upstreamSeconds: number | null): void {
    const statusClass = Math.floor(status / 100);
    // Once per forwarded request: the labelled child is looked up once per class, not hashed every time.
    let counter = this.forwardedByClass[statusClass];
    if (!counter) counter = this.forwardedByClass[statusClass] = this.forwardedRequests.labels({ class: `${statusClass}xx` });
    counter.inc();
    if (upstreamSeconds !== null) this.upstreamSeconds.observe(upstreamSeconds);
  }

  /** The scrape: Prometheus text format, process metrics first. */
  async text(): Promise<string> {
    return `${await processRegistry.metrics()}\n${await this.registry.metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private gauge(name: string, help: string) {
    return new Gauge({ name: `${PREFIX}${name}`, help, registers: [this.registry] });
  }

  private counter(name: string, help: string, labelNames: string[]) {
    return new Counter({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }
}
