/**
 * The rules of leader election on a `coordination.k8s.io/v1` Lease, as client-go's
 * `tools/leaderelection` applies them in `tryAcquireOrRenew`: one compare-and-swap step decided from
 * the record just read, what this candidate observed before, its identity and the time. The loop
 * around it (reads, writes, timers) is IO and lives in src/enforcement/leader-lease.ts.
 *
 * Expiry is judged as client-go judges it: from when this candidate first saw the current record
 * (its own clock), not from the record's renewTime (another replica's clock), so clock skew between
 * replicas cannot make a live lease look expired.
 */

/** The Lease spec fields leader election reads and writes (client-go's LeaderElectionRecord). */
export interface LeaseRecord {
  /** Who holds it; empty once released, so anyone may take it at once. */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTimeMs: number;
  readonly renewTimeMs: number;
  readonly leaseTransitions: number;
}

/** client-go's LeaderElectionConfig timings. */
export interface LeaderTimings {
  /** How long others wait after they last saw the record change before they take it over. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps acting after its last successful renew; below the lease duration. */
  readonly renewDeadlineMs: number;
  /** Time between attempts. */
  readonly retryPeriodMs: number;
}

/** client-go's defaults (lease 15 s, renew deadline 10 s, retry 2 s). */
export const DEFAULT_LEADER_TIMINGS: LeaderTimings = Object.freeze({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });

/**
 * A candidate waits retryPeriod × (1 + up to this) between attempts to acquire. client-go uses 1.2,
 * so a released Lease may wait 4.4 s for its next holder; 0.2 spreads two or three candidates as
 * well and hands a released Lease over within 2.4 s (a rolling restart moves enforcement in under 3 s).
 */
export const RETRY_JITTER = 0.2;

/** What a candidate saw last, and when it first saw it (client-go's observedRecord, observedTime). */
export interface Observation {
  readonly record: LeaseRecord;
  readonly atMs: number;
}

/** The input of one {@link tryAcquireOrRenew} step. */
export interface ElectionInput {
  /** The Lease as just read; undefined when it does not exist. */
  readonly current: LeaseRecord | undefined;
  /** This candidate's previous observation, if any. */
  readonly observed: Observation | undefined;
  readonly identity: string;
  readonly nowMs: number;
  readonly timings: LeaderTimings;
}

/** What to write, or why not. `seen` is the observation to keep whatever the write's outcome. */
export type ElectionStep =
  | { readonly action: 'create'; readonly record: LeaseRecord }
  | { readonly action: 'update'; readonly kind: 'acquire' | 'renew' | 'take-over'; readonly record: LeaseRecord; readonly seen: Observation }
  | { readonly action: 'none'; readonly holder: string; readonly expiresAtMs: number; readonly seen: Observation };

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTimeMs === b.acquireTimeMs &&
    a.renewTimeMs === b.renewTimeMs &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** The observation after reading `current`: unchanged while the record is, restarted when it changes. */
export function observe(previous: Observation | undefined, current: LeaseRecord, nowMs: number): Observation {
  return previous && sameRecord(previous.record, current) ? previous : { record: current, atMs: nowMs };
}

/** When the observed lease expires for this candidate. */
export function expiresAtMs(observation: Observation): number {
  return observation.atMs + observation.record.leaseDurationSeconds * 1000;
}

/** The record this candidate writes to hold the lease: client-go writes whole seconds of lease duration. */
function holding(identity: string, nowMs: number, timings: LeaderTimings): LeaseRecord {
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.floor(timings.leaseDurationMs / 1000),
    acquireTimeMs: nowMs,
    renewTimeMs: nowMs,
    leaseTransitions: 0,
  };
}

/** A renewal of `held` (already ours): only renewTime and the duration change. */
export function renewal(held: LeaseRecord, nowMs: number, timings: LeaderTimings): LeaseRecord {
  const fresh = holding(held.holderIdentity, nowMs, timings);
  return { ...fresh, acquireTimeMs: held.acquireTimeMs, leaseTransitions: held.leaseTransitions };
}

/**
 * One step of client-go's `tryAcquireOrRenew`: create the Lease when there is none; renew it when
 * this candidate holds it; take it when it is free (released) or has not changed for its duration
 * (counting one more transition); otherwise leave it to its holder. The write must be a
 * compare-and-swap on the resourceVersion just read: if another candidate wrote first, it fails.
 */
export function tryAcquireOrRenew({ current, observed, identity, nowMs, timings }: ElectionInput): ElectionStep {
  if (!current) return { action: 'create', record: holding(identity, nowMs, timings) };
  const seen = observe(observed, current, nowMs);
  const holder = current.holderIdentity;
  if (holder === identity) return { action: 'update', kind: 'renew', record: renewal(current, nowMs, timings), seen };
  if (holder !== '' && nowMs < expiresAtMs(seen)) return { action: 'none', holder, expiresAtMs: expiresAtMs(seen), seen };
  const record = { ...holding(identity, nowMs, timings), leaseTransitions: current.leaseTransitions + 1 };
  return { action: 'update', kind: holder === '' ? 'acquire' : 'take-over', record, seen };
}

/**
 * Fencing: a leader whose last successful renew was attempted at `lastRenewMs` may act until the
 * renew deadline has passed since then. Others take over no sooner than a lease duration after they
 * saw that renew, which is after it was attempted, so the leader stops first (by leaseDuration −
 * renewDeadline, 5 s with the defaults).
 */
export function mayAct(lastRenewMs: number, nowMs: number, timings: LeaderTimings): boolean {
  return nowMs - lastRenewMs < timings.renewDeadlineMs;
}

/**
 * What a leader writes on graceful shutdown (client-go's ReleaseOnCancel): no holder, a one-second
 * lease, so the next candidate to look takes it at once instead of waiting out the lease. Undefined
 * when `held` is not this identity's: releasing someone else's lease would hand theirs away.
 */
export function releaseRecord(held: LeaseRecord, identity: string, nowMs: number): LeaseRecord | undefined {
  if (held.holderIdentity !== identity) return undefined;
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: nowMs, renewTimeMs: nowMs, leaseTransitions: held.leaseTransitions };
}

/** Why these timings cannot work (client-go's NewLeaderElector checks), or undefined when they can. */
export function timingsProblem(timings: LeaderTimings): string | undefined {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timings;
  if (!(retryPeriodMs > 0)) return 'retryPeriod must be positive';
  if (!(Math.floor(leaseDurationMs / 1000) * 1000 > renewDeadlineMs)) return 'leaseDuration (in whole seconds) must be longer than renewDeadline';
  if (!(renewDeadlineMs > RETRY_JITTER * retryPeriodMs)) return `renewDeadline must be longer than retryPeriod x ${RETRY_JITTER}`;
  return undefined;
}
