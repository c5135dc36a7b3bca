import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import {
  mayAct,
  releaseRecord,
  renewal,
  RETRY_JITTER,
  tryAcquireOrRenew,
  type LeaderTimings,
  type LeaseRecord,
  type Observation,
} from '../core/leader-election.js';

/** A Lease as stored: its record and the resourceVersion a compare-and-swap write must carry. */
export interface StoredLease {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
}

/**
 * The three calls leader election needs on one Lease (client-go's resourcelock.Interface). Writes are
 * compare-and-swap: `create` fails when the Lease exists, `replace` when its resourceVersion is no
 * longer `resourceVersion`; both reject with {@link LeaseConflictError} then.
 */
export interface LeaseApi {
  /** The Lease as stored now; undefined when there is none. */
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<StoredLease>;
  replace(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** Another candidate wrote the Lease first (HTTP 409): this attempt lost the race, nothing is wrong. */
export class LeaseConflictError extends Error {
  readonly code = 'LeaseConflict';
}

/** A Lease's time (MicroTime) as epoch ms: client-node reads it as the string the API server sent. */
function timeMs(value: Date | string | undefined): number {
  if (value === undefined) return 0;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

/** The record a Lease spec holds; absent fields as client-go reads them (zero values). */
export function leaseRecordOf(spec: V1LeaseSpec | undefined): LeaseRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTimeMs: timeMs(spec?.acquireTime),
    renewTimeMs: timeMs(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

/**
 * The Lease spec for a record. Times are V1MicroTime: the API server parses MicroTime with exactly
 * six fraction digits and refuses the three a plain Date serializes to.
 */
export function leaseSpecOf(record: LeaseRecord): V1LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: new V1MicroTime(record.acquireTimeMs),
    renewTime: new V1MicroTime(record.renewTimeMs),
    leaseTransitions: record.leaseTransitions,
  };
}

const hasStatus = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

function storedOf(lease: V1Lease): StoredLease {
  return { record: leaseRecordOf(lease.spec), resourceVersion: lease.metadata?.resourceVersion ?? '' };
}

async function conflictAware(write: () => Promise<V1Lease>, what: string): Promise<StoredLease> {
  try {
    return storedOf(await write());
  } catch (error) {
    if (hasStatus(error, 409)) throw new LeaseConflictError(`${what}: another candidate wrote the Lease first`, { cause: error });
    throw error;
  }
}

/** {@link LeaseApi} on `coordination.k8s.io/v1` Lease `namespace/name`, through CoordinationV1Api. */
export function kubernetesLeaseApi(kubeConfig: KubeConfig, namespace: string, name: string): LeaseApi {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  const body = (record: LeaseRecord, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: leaseSpecOf(record),
  });
  return {
    get: async () => {
      try {
        return storedOf(await api.readNamespacedLease({ name, namespace }));
      } catch (error) {
        if (hasStatus(error, 404)) return undefined;
        throw error;
      }
    },
    create: (record) => conflictAware(() => api.createNamespacedLease({ namespace, body: body(record) }), 'create'),
    // A PUT carrying metadata.resourceVersion: the API server applies it only to that version.
    replace: (record, resourceVersion) => conflictAware(() => api.replaceNamespacedLease({ name, namespace, body: body(record, resourceVersion) }), 'replace'),
  };
}

/** Timers the elector schedules with; injectable so tests drive a fake clock. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Losing a race is routine between candidates; anything else is worth a warning. */
const levelOf = (error: unknown): 'debug' | 'warn' => (error instanceof LeaseConflictError ? 'debug' : 'warn');

/** Resolves when `work` settles or after `ms`, whichever comes first. */
function settledWithin(work: Promise<void>, ms: number, timers: Timers): Promise<void> {
  return new Promise((resolve) => {
    const timeout = timers.setTimeout(resolve, ms);
    void work.then(() => {
      timers.clearTimeout(timeout);
      resolve();
    });
  });
}

export interface ElectorLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface LeaderElectorOptions {
  readonly api: LeaseApi;
  /** Unique per replica (the pod name): two replicas with one identity would both lead. */
  readonly identity: string;
  readonly timings: LeaderTimings;
  readonly clock: () => number;
  readonly timers?: Timers;
  /** For the jitter between attempts to acquire (client-go's wait.Jitter); Math.random unless told. */
  readonly random?: () => number;
  readonly log: ElectorLog;
  /** Called when this replica becomes leader: start the leader's work. */
  readonly onStartedLeading: () => void;
  /** Called the moment it may no longer act (renew deadline passed, or release): stop at once. */
  readonly onStoppedLeading: () => void;
}

export interface LeaderElector {
  /** Starts trying to acquire, then renewing, at once and every retry period. */
  start(): void;
  /** Whether this replica may act as leader now: it holds the Lease and its renew deadline has not passed. */
  isLeader(): boolean;
  /**
   * Graceful shutdown (client-go's ReleaseOnCancel): stops trying, stops leading, and writes the
   * release record so another replica takes over within its next retry instead of a lease duration.
   */
  release(): Promise<void>;
}

/**
 * The loop of client-go's LeaderElector around {@link tryAcquireOrRenew}: try at once, then every
 * retry period (with jitter while not leading); the leader first renews the record it last wrote
 * without reading it (client-go's optimistic fast path) and reads only when that fails.
 *
 * Fencing: leadership ends the moment the renew deadline has passed since the last successful renew
 * was attempted (a timer calls onStoppedLeading then, and isLeader() answers from the clock, so a
 * late timer cannot stretch it). The lease lasts longer than that for everyone else, so two replicas
 * never act at once. Unlike client-go, which exits the process on a lost lease, the elector goes
 * back to being a candidate: the replica keeps serving admissions.
 */
export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const { api, identity, timings, clock, log } = options;
  const timers = options.timers ?? realTimers;
  const random = options.random ?? Math.random;
  let running = false;
  let leading = false;
  let lastRenewMs = Number.NEGATIVE_INFINITY;
  let observed: Observation | undefined;
  let stored: StoredLease | undefined;
  let attemptTimer: unknown;
  let fenceTimer: unknown;
  let inFlight: Promise<void> = Promise.resolve();

  const notify = (callback: () => void, what: string): void => {
    try {
      callback();
    } catch (error) {
      log.error({ identity, err: error }, `${what} callback failed`);
    }
  };

  const stopLeading = (why: string): void => {
    timers.clearTimeout(fenceTimer);
    if (!leading) return;
    leading = false;
    log.warn({ identity, why }, 'stopped leading');
    notify(options.onStoppedLeading, 'onStoppedLeading');
  };

  const fence = (): void => {
    if (!leading) return;
    if (mayAct(lastRenewMs, clock(), timings)) armFence();
    else stopLeading(`no renew within the renew deadline (${timings.renewDeadlineMs} ms)`);
  };

  function armFence(): void {
    timers.clearTimeout(fenceTimer);
    fenceTimer = timers.setTimeout(fence, lastRenewMs + timings.renewDeadlineMs - clock());
  }

  const wrote = (lease: StoredLease, atMs: number): true => {
    stored = lease;
    observed = { record: lease.record, atMs };
    return true;
  };

  /** client-go's fast path: the leader renews what it last wrote, without reading it first. */
  const renewOptimistically = async (held: StoredLease, nowMs: number): Promise<boolean> => {
    try {
      return wrote(await api.replace(renewal(held.record, nowMs, timings), held.resourceVersion), nowMs);
    } catch (error) {
      log.debug({ identity, err: error }, 'optimistic renew failed, reading the Lease');
      return false;
    }
  };

  const tryOnce = async (nowMs: number): Promise<boolean> => {
    if (leading && stored && (await renewOptimistically(stored, nowMs))) return true;
    const current = await api.get();
    const step = tryAcquireOrRenew({ current: current?.record, observed, identity, nowMs, timings });
    if (step.action === 'create') return wrote(await api.create(step.record), nowMs);
    observed = step.seen;
    if (step.action === 'none') {
      // Someone else holds it: whatever this replica believed, it is not the leader.
      stopLeading(`the lease is held by ${step.holder}`);
      return false;
    }
    return wrote(await api.replace(step.record, current?.resourceVersion ?? ''), nowMs);
  };

  const renewed = (attemptedMs: number): void => {
    lastRenewMs = attemptedMs;
    // A write that came back after the deadline, or after release(), does not make a leader.
    if (!running || !mayAct(attemptedMs, clock(), timings)) return;
    if (!leading) {
      leading = true;
      log.info({ identity, transitions: stored?.record.leaseTransitions }, 'started leading');
      notify(options.onStartedLeading, 'onStartedLeading');
    }
    armFence();
  };

  const schedule = (): void => {
    if (!running) return;
    const delay = leading ? timings.retryPeriodMs : timings.retryPeriodMs * (1 + random() * RETRY_JITTER);
    attemptTimer = timers.setTimeout(() => {
      inFlight = attempt();
    }, delay);
  };

  async function attempt(): Promise<void> {
    const attemptedMs = clock();
    try {
      if (await tryOnce(attemptedMs)) renewed(attemptedMs);
    } catch (error) {
      log[levelOf(error)]({ identity, leading, err: error }, 'lease attempt failed');
    }
    fence();
    schedule();
  }

  const release = async (): Promise<void> => {
    running = false;
    timers.clearTimeout(attemptTimer);
    // A hung request must not hold up shutdown; if it lands after all, the release's CAS loses to it.
    await settledWithin(inFlight, timings.retryPeriodMs, timers);
    stopLeading('released');
    const held = stored;
    const record = held && releaseRecord(held.record, identity, clock());
    if (!held || !record) return;
    try {
      wrote(await api.replace(record, held.resourceVersion), clock());
      log.info({ identity }, 'released the lease');
    } catch (error) {
      log[levelOf(error)]({ identity, err: error }, 'lease not released (taken meanwhile, or unreachable: others take it over once it expires)');
    }
  };

  return {
    start: () => {
      if (running) return;
      running = true;
      inFlight = attempt();
    },
    isLeader: () => leading && mayAct(lastRenewMs, clock(), timings),
    release,
  };
}
