import { ADMISSION_API_VERSION, type AdmissionResponse } from '../api/admission-review.js';
import type { Decision } from '../core/decide.js';

/** Kubernetes truncates warnings past this; keep each one whole instead. */
const MAX_WARNING_LENGTH = 256;

/** Wraps a response in the AdmissionReview envelope the API server expects. */
export function reviewEnvelope(response: AdmissionResponse): object {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** The one place a decision becomes a response; the request uid is always echoed. */
export function responseFor(uid: string, decision: Decision): AdmissionResponse {
  const warnings = decision.warnings.map((warning) => warning.slice(0, MAX_WARNING_LENGTH));
  const withWarnings = warnings.length > 0 ? { warnings } : {};
  if (decision.allowed) return { uid, allowed: true, ...withWarnings };
  return { uid, allowed: false, status: { code: decision.code, reason: decision.reason, message: decision.message }, ...withWarnings };
}

/** Fail closed while the tracker has no complete view: a readable refusal, not a guess. */
export function unavailable(uid: string, why: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { code: 503, reason: 'ServiceUnavailable', message: `placement-quota-webhook is not ready (${why}); retry shortly` },
  };
}
