import type { AdmissionRequest, AdmissionResponse } from '../api/admission-review.js';
import type { DecisionConfig } from '../api/config.js';
import type { Hold, QuotaReserver } from '../consistency/quota-reserver.js';
import { decide, type Decision, type Demand, type ReviewOutcome } from '../core/decide.js';
import { withReservations, type ReservationLedger } from '../state/reservations.js';
import { isDefaultQuotaKey } from '../core/quotas.js';
import type { StateView } from '../core/view.js';
import { isZeroList } from '../quantity/index.js';
import { responseFor, unavailable } from './responses.js';

/** The log calls the reviewer makes (a pino logger satisfies it). */
export interface DecisionLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  /** Whether lines at `level` are written (pino's); without it, every level is taken to be. */
  isLevelEnabled?(level: 'debug'): boolean;
}

export type Readiness = () => { ready: true } | { ready: false; why: string };

export interface ReviewerOptions {
  readonly state: StateView;
  readonly ledger: ReservationLedger;
  readonly readiness: Readiness;
  readonly config: DecisionConfig;
  readonly reservationTtlMs: number;
  readonly clock: () => number;
  readonly log: DecisionLog;
  /** Reserves on WorkspaceQuota objects by compare-and-swap, so replicas agree; without it, per replica. */
  readonly reserver?: QuotaReserver | undefined;
  /** Told of every answer (and of every review that failed); must be cheap, it runs on the hot path. */
  readonly observe?: ((outcome: ReviewOutcome) => void) | undefined;
  /** A monotonic clock in milliseconds for the durations `observe` gets (default performance.now). */
  readonly monotonic?: () => number;
}

/**
 * Answers one AdmissionRequest: the decision core on the tracked state plus reservations. `deadlineMs`
 * is when the API server stops waiting (from `?timeout=`). Synchronous unless a quota must be reserved
 * across replicas.
 */
export type Reviewer = (request: AdmissionRequest, deadlineMs?: number) => AdmissionResponse | Promise<AdmissionResponse>;

/** The API server's default webhook timeout, when a request does not say. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** The WorkspaceQuota charges of a demand (the default quota has no object to agree on). */
const objectQuotas = (demand: Demand) => demand.quotas.filter(({ key, requested }) => !isDefaultQuotaKey(key) && !isZeroList(requested));

/**
 * Decide and reserve in one synchronous step: within a replica no other review can interleave, so
 * N concurrent reviews against a quota that fits K admit exactly K. With a reserver, an admission
 * that charges a WorkspaceQuota then also holds its charge in the quota's status (compare-and-swap),
 * which keeps the count exact across replicas; a refusal there releases the local hold. A dry run
 * decides the same way and reserves nothing (sideEffects: NoneOnDryRun).
 */
export function createReviewer(options: ReviewerOptions): Reviewer {
  const { state, ledger, readiness, config, reservationTtlMs, clock, log, reserver } = options;
  const observe = options.observe ?? (() => undefined);
  const monotonic = options.monotonic ?? (() => performance.now());
  const view = withReservations(state, ledger);

  const answer = (request: AdmissionRequest, decision: Decision, startedMs: number): AdmissionResponse => {
    const seconds = (monotonic() - startedMs) / 1000;
    const { uid, operation, namespace, name } = request;
    observe(decision.allowed ? { operation, decision: 'allowed', seconds } : { operation, decision: 'denied', reason: decision.cause, seconds });
    const dryRun = request.dryRun ?? false;
    // Admissions are most reviews and are logged at debug, which production leaves off: their line's
    // fields are not even built then (asked each time: a logger's level can change).
    if (decision.allowed) {
      if (log.isLevelEnabled?.('debug') ?? true) log.debug({ uid, operation, namespace, name, dryRun, allowed: true, warnings: decision.warnings }, 'admitted');
    } else log.info({ uid, operation, namespace, name, dryRun, allowed: false, code: decision.code, reason: decision.message }, 'denied');
    return responseFor(uid, decision);
  };

  const reserveAcrossReplicas = async (quotas: QuotaReserver, request: AdmissionRequest, decision: Decision, hold: Hold & { startedMs: number }) => {
    const { startedMs } = hold;
    let outcome;
    try {
      outcome = await quotas.reserve(hold);
    } catch (error) {
      observe({ operation: request.operation, decision: 'error', seconds: (monotonic() - startedMs) / 1000 });
      throw error;
    }
    if (outcome.ok) return answer(request, decision, startedMs);
    ledger.release(request.uid);
    return answer(request, { allowed: false, cause: 'quota', code: 403, reason: 'Forbidden', message: outcome.message, warnings: [] }, startedMs);
  };

  return (request, deadlineMs) => {
    const startedMs = monotonic();
    const status = readiness();
    if (!status.ready) {
      observe({ operation: request.operation, decision: 'denied', reason: 'not_ready', seconds: (monotonic() - startedMs) / 1000 });
      return unavailable(request.uid, status.why);
    }
    const nowMs = clock();
    ledger.expire(nowMs);
    // A retried review of the same request replaces its own reservation: it must not compete with itself.
    ledger.release(request.uid);
    const decision = decide(request, view, config, nowMs);
    const demand = decision.allowed && !request.dryRun ? decision.demand : undefined;
    if (!decision.allowed || !demand) return answer(request, decision, startedMs);
    const expiresAtMs = nowMs + reservationTtlMs;
    ledger.reserve({ requestUid: request.uid, key: demand.key, minGeneration: demand.minGeneration, demand, expiresAtMs });
    const quotas = objectQuotas(demand);
    if (!reserver || quotas.length === 0) return answer(request, decision, startedMs);
    const { key: placement, uid, minGeneration } = demand;
    const hold: Hold = { requestUid: request.uid, placement, uid, minGeneration, quotas, deadlineMs: deadlineMs ?? nowMs + DEFAULT_TIMEOUT_MS, expiresAtMs };
    return reserveAcrossReplicas(reserver, request, decision, { ...hold, startedMs });
  };
}
