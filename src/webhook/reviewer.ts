import type { AdmissionRequest, AdmissionResponse } from '../api/admission-review.js';
import type { DecisionConfig } from '../api/config.js';
import { decide } from '../core/decide.js';
import { withReservations, type ReservationLedger } from '../core/reservations.js';
import type { StateView } from '../core/state.js';
import { responseFor, unavailable } from './responses.js';

/** The log calls the reviewer makes (a pino logger satisfies it). */
export interface DecisionLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
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
}

/** Answers one AdmissionRequest: the decision core on the tracked state plus reservations. */
export type Reviewer = (request: AdmissionRequest) => AdmissionResponse;

/**
 * Decide and reserve in one synchronous step: within a replica no other review can interleave, so
 * N concurrent reviews against a quota that fits K admit exactly K. A dry run decides the same way
 * and reserves nothing (sideEffects: NoneOnDryRun).
 */
export function createReviewer(options: ReviewerOptions): Reviewer {
  const { state, ledger, readiness, config, reservationTtlMs, clock, log } = options;
  const view = withReservations(state, ledger);
  return (request) => {
    const status = readiness();
    if (!status.ready) return unavailable(request.uid, status.why);
    const nowMs = clock();
    ledger.expire(nowMs);
    // A retried review of the same request replaces its own reservation: it must not compete with itself.
    ledger.release(request.uid);
    const decision = decide(request, view, config, nowMs);
    if (decision.allowed && decision.demand && !request.dryRun) {
      ledger.reserve({ requestUid: request.uid, key: decision.demand.key, minGeneration: decision.demand.minGeneration, demand: decision.demand, expiresAtMs: nowMs + reservationTtlMs });
    }
    const fields = { uid: request.uid, operation: request.operation, namespace: request.namespace, name: request.name, dryRun: request.dryRun ?? false, allowed: decision.allowed };
    if (decision.allowed) log.debug({ ...fields, warnings: decision.warnings }, 'admitted');
    else log.info({ ...fields, code: decision.code, reason: decision.message }, 'denied');
    return responseFor(request.uid, decision);
  };
}
