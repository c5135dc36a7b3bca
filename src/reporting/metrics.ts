/**
 * `/metrics` in the Prometheus text format, with prom-client. Names and labels follow
 * kube-state-metrics (`internal/store/resourcequota.go`: one family per concept, labels `namespace`,
 * `resourcequota`, `resource`, `type`) and Kubernetes components (`_seconds`, `_total`).
 *
 * Two registries, because the two halves cost differently:
 * - the state families (quotas, clusters, time until full) come from the latest report snapshot, not
 *   from the tracked state: at 10k clusters and 10k quotas they are hundreds of thousands of series,
 *   so they are rendered once per snapshot (every aggregation interval) and the text is kept until
 *   the next one; a scrape in between costs a string concatenation;
 * - the service's own families (admission, reservations, tracker, process) are a few hundred series,
 *   rendered on every scrape so counters are current.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReviewOutcome } from '../core/decide.js';
import { amountOf, type ResourceList } from '../quantity/index.js';
import { unitsOf } from './figures.js';
import type { ReportSet } from './report-set.js';
import type { UntilFull } from './trends.js';

const PREFIX = 'placement_quota_';

/** 100 µs to 5 s: an in-memory decision takes tens of microseconds, a reservation an API round trip. */
export const ADMISSION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What the tracker tells about itself (the tracker's `stats()` fits). */
export interface TrackerFigures {
  readonly ready: boolean;
  readonly perKind: Readonly<Record<string, { readonly relists: number; readonly restarts: number; readonly lastEventMs: number }>>;
}

export interface MetricSources {
  readonly latest: () => ReportSet | undefined;
  readonly tracker: () => TrackerFigures;
  /** Objects of a kind in the tracked state. */
  readonly objects: (kind: string) => number;
  /** The quota store's counters (`QuotaStore.counters`); absent without strict quotas. */
  readonly reservations?: () => { readonly writes: number; readonly conflicts: number; readonly retries: number };
  /** How the reserver admitted holds (`QuotaReserver.counters`). */
  readonly admissions?: () => { readonly atOnce: number; readonly fromShare: number; readonly byRound: number; readonly waited: number };
  /** The enforcement loop: whether this replica leads, and what it wrote by reason. */
  readonly enforcement?: () => { readonly leader: boolean; readonly evictions: ReasonCounts; readonly conditions: ReasonCounts };
  /** The admission transport's counters. */
  readonly transport?: () => { readonly callersRefused: number; readonly clientsGone: number };
  readonly clock: () => number;
}

/** Counts by namespace, then reason. */
type ReasonCounts = ReadonlyMap<string, Readonly<Partial<Record<string, number>>>>;


export interface ServiceMetrics {
  /** The admission path's hook: one histogram observation (and a counter for a denial). */
  observeAdmission(observation: ReviewOutcome): void;
  /** The whole exposition, state families first. */
  render(): Promise<string>;
  readonly contentType: string;
}

type Labels<T extends string> = Partial<Record<T, string | number>>;

/** The state families, filled from one snapshot, rendered, then emptied again (the text is what is kept). */
class StateFamilies {
  readonly registry = new Registry();
  private readonly quota = new Gauge({
    name: `${PREFIX}workspacequota`,
    help: 'WorkspaceQuota limits and charged usage, in base units (cores, bytes, counts).',
    labelNames: ['namespace', 'workspacequota', 'resource', 'type'] as const,
    registers: [this.registry],
  });
  private readonly cluster = new Gauge({
    name: `${PREFIX}cluster_resource`,
    help: 'Per cluster: capacity, allocatable, limit (allocatable x overcommit), allocated by placements, used as reported; base units.',
    labelNames: ['cluster', 'location', 'resource', 'type'] as const,
    registers: [this.registry],
  });
  private readonly ready = new Gauge({
    name: `${PREFIX}cluster_ready`,
    help: 'Whether the cluster is Ready with a fresh heartbeat (1) or not (0).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  private readonly untilFull = new Gauge({
    name: `${PREFIX}time_until_full_seconds`,
    help: 'When the least-squares trend of the history reaches the limit (0: full already); only for series filling up with enough history.',
    labelNames: ['kind', 'name', 'resource'] as const,
    registers: [this.registry],
  });
  private readonly at = new Gauge({
    name: `${PREFIX}report_timestamp_seconds`,
    help: 'When the snapshot these state families come from was taken (Unix time).',
    registers: [this.registry],
  });

  private rendered: { readonly set: ReportSet | undefined; readonly text: Promise<string> } | undefined;

  /** The text of `set`'s families, made once per snapshot; concurrent scrapes share it. */
  text(set: ReportSet | undefined): Promise<string> {
    if (this.rendered?.set !== set || !this.rendered) this.rendered = { set, text: this.render(set) };
    return this.rendered.text;
  }

  private async render(set: ReportSet | undefined): Promise<string> {
    if (set) this.fill(set);
    try {
      return await this.registry.metrics();
    } finally {
      this.registry.resetMetrics();
    }
  }

  private fill({ report, trends }: ReportSet): void {
    this.at.set(report.atMs / 1000);
    for (const quota of report.quotas) {
      // A workspace's default quota has no object (and no name) for a person to look up.
      if (quota.name === '') continue;
      const labels = { namespace: quota.workspace, workspacequota: quota.name };
      setList(this.quota, { ...labels, type: 'hard' }, quota.hard);
      setList(this.quota, { ...labels, type: 'soft' }, quota.soft);
      setList(this.quota, { ...labels, type: 'used' }, quota.used);
    }
    for (const cluster of report.clusters) {
      const labels = { cluster: cluster.name, location: cluster.location };
      setList(this.cluster, { ...labels, type: 'capacity' }, cluster.capacity);
      setList(this.cluster, { ...labels, type: 'allocatable' }, cluster.allocatable);
      setList(this.cluster, { ...labels, type: 'limit' }, cluster.limit);
      // Every limited resource has an allocated series, 0 when nothing is placed: allocated / limit always divides.
      setList(this.cluster, { ...labels, type: 'allocated' }, cluster.allocated, cluster.limit);
      if (cluster.used) setList(this.cluster, { ...labels, type: 'used' }, cluster.used);
      this.ready.set({ cluster: cluster.name }, cluster.health.ready ? 1 : 0);
    }
    for (const [kind, series] of [['cluster', trends.clusters], ['quota', trends.quotas]] as const) {
      for (const { key, resource, untilFull } of series) {
        const seconds = secondsUntilFull(untilFull);
        if (seconds !== undefined) this.untilFull.set({ kind, name: key, resource }, seconds);
      }
    }
  }
}

/** One series per resource of `list`, and 0 for each resource of `zeroFor` that `list` lacks; labels in kube-state-metrics' order (…, resource, type). */
function setList<T extends string>(gauge: Gauge<T | 'resource'>, { type, ...labels }: Labels<T> & { type: string }, list: ResourceList, zeroFor: ResourceList = {}): void {
  const series = (resource: string) => ({ ...labels, resource, type }) as Labels<T | 'resource'>;
  for (const resource of Object.keys(list)) gauge.set(series(resource), unitsOf(amountOf(list, resource)));
  for (const resource of Object.keys(zeroFor)) if (!Object.hasOwn(list, resource)) gauge.set(series(resource), 0);
}

function secondsUntilFull(untilFull: UntilFull): number | undefined {
  if (untilFull.state === 'full') return 0;
  return untilFull.state === 'filling' ? untilFull.hours * 3600 : undefined;
}

/** A counter whose value lives elsewhere (a stats object): read at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function trackerFamilies(registry: Registry, sources: MetricSources): void {
  const kinds = (): [string, TrackerFigures['perKind'][string]][] => Object.entries(sources.tracker().perKind);
  new Gauge({
    name: `${PREFIX}ready`,
    help: 'Whether the service decides (1: the tracker has a complete view) or refuses every review (0).',
    registers: [registry],
    collect() {
      this.set(sources.tracker().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: `${PREFIX}tracker_objects`,
    help: 'Objects of each kind in the tracked state.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const [kind] of kinds()) this.set({ kind }, sources.objects(kind));
    },
  });
  const perKindCounter = (name: string, help: string, read: (figures: TrackerFigures['perKind'][string]) => number): void =>
    void new Counter({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, figures] of kinds()) this.inc({ kind }, read(figures));
      },
    });
  perKindCounter(`${PREFIX}tracker_relists_total`, 'Lists of a kind after its first (after a 410 Gone, or a watch that could not resume).', (f) => f.relists);
  perKindCounter(`${PREFIX}tracker_watch_restarts_total`, 'Watches that ended other than by a normal close and were started again.', (f) => f.restarts);
  new Gauge({
    name: `${PREFIX}tracker_seconds_since_last_event`,
    help: 'Seconds since the API server last sent anything for the kind (list, event or bookmark).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const nowMs = sources.clock();
      for (const [kind, figures] of kinds()) if (figures.lastEventMs > 0) this.set({ kind }, (nowMs - figures.lastEventMs) / 1000);
    },
  });
}

function reservationFamilies(registry: Registry, read: NonNullable<MetricSources['reservations']>): void {
  mirroredCounter(registry, `${PREFIX}reservation_writes_total`, 'WorkspaceQuota status writes that succeeded: compare-and-swap, and guarded JSON patches (a share spent, a settlement).', () => read().writes);
  mirroredCounter(registry, `${PREFIX}reservation_conflicts_total`, 'WorkspaceQuota status writes refused: 409 Conflict (another writer got in first), or 422 for a guarded JSON patch whose test failed (a share taken back).', () => read().conflicts);
  mirroredCounter(registry, `${PREFIX}reservation_retries_total`, 'WorkspaceQuota status writes attempted again on a fresh read after a conflict.', () => read().retries);
}

function admissionPathFamilies(registry: Registry, read: NonNullable<MetricSources['admissions']>): void {
  new Counter({
    name: `${PREFIX}holds_admitted_total`,
    help: "Holds on WorkspaceQuotas admitted, by path: at once from this replica's share (written after the answer), from the share by a guarded patch before the answer, or by a compare-and-swap round.",
    labelNames: ['path'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = read();
      this.inc({ path: 'at-once' }, counts.atOnce);
      this.inc({ path: 'share' }, counts.fromShare);
      this.inc({ path: 'round' }, counts.byRound);
    },
  });
  mirroredCounter(registry, `${PREFIX}holds_waited_total`, "Holds that fit only once another replica's share gave its headroom back (or a settlement cleared a doubt), and waited for it.", () => read().waited);
}

function enforcementFamilies(registry: Registry, read: NonNullable<MetricSources['enforcement']>): void {
  new Gauge({
    name: `${PREFIX}leader`,
    help: 'Whether this replica holds the Lease and enforces (1) or not (0).',
    registers: [registry],
    collect() {
      this.set(read().leader ? 1 : 0);
    },
  });
  const byReason = (name: string, help: string, counts: () => ReasonCounts): void =>
    void new Counter({
      name,
      help,
      labelNames: ['namespace', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [namespace, byReason] of counts()) for (const [reason, n] of Object.entries(byReason)) this.inc({ namespace, reason }, n ?? 0);
      },
    });
  byReason(`${PREFIX}evictions_total`, 'Placements this replica marked Evicted (Hard mode), by reason.', () => read().evictions);
  byReason(`${PREFIX}enforcement_conditions_total`, 'Soft eviction conditions this replica set to True, by reason.', () => read().conditions);
}

function transportFamilies(registry: Registry, read: NonNullable<MetricSources['transport']>): void {
  mirroredCounter(registry, `${PREFIX}admission_callers_refused_total`, 'Admission requests refused for want of a verified client certificate.', () => read().callersRefused);
  mirroredCounter(registry, `${PREFIX}admission_clients_gone_total`, 'Admission requests whose client went away before its body was complete.', () => read().clientsGone);
}

/** The service's metrics: state families from the latest snapshot, its own families, process and Node defaults. */
export function createServiceMetrics(sources: MetricSources): ServiceMetrics {
  const state = new StateFamilies();
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  // prom-client names these gauges like counters, which `promtool check metrics` flags; the same
  // counts stay available per type (nodejs_active_handles{type}, …), so sum() gives the totals.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) own.removeSingleMetric(name);
  const duration = new Histogram({
    name: `${PREFIX}admission_duration_seconds`,
    help: 'Time from receiving an AdmissionReview to its answer (reservation across replicas included).',
    labelNames: ['operation', 'decision'] as const,
    buckets: ADMISSION_BUCKETS,
    registers: [own],
  });
  const denials = new Counter({
    name: `${PREFIX}admission_denials_total`,
    help: 'Reviews refused, by the first reason a person would fix.',
    labelNames: ['reason'] as const,
    registers: [own],
  });
  trackerFamilies(own, sources);
  if (sources.reservations) reservationFamilies(own, sources.reservations);
  if (sources.admissions) admissionPathFamilies(own, sources.admissions);
  if (sources.enforcement) enforcementFamilies(own, sources.enforcement);
  if (sources.transport) transportFamilies(own, sources.transport);
  return {
    contentType: own.contentType,
    observeAdmission(observation) {
      duration.observe({ operation: observation.operation, decision: observation.decision }, observation.seconds);
      if (observation.decision === 'denied') denials.inc({ reason: observation.reason });
    },
    async render() {
      const [stateText, ownText] = await Promise.all([state.text(sources.latest()), own.metrics()]);
      return `${stateText}${ownText}`;
    },
  };
}
