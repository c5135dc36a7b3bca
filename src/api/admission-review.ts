import { z } from 'zod';
import { MAX_NAME_LENGTH, MAX_UID_LENGTH } from './limits.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/**
 * The largest AdmissionReview body read (413 above it, before buffering, so a client cannot make
 * the process hold an endless body). The API server caps what a client sends it at 3 MiB, but the
 * review it sends on wraps the object as stored (managedFields added) and, for an UPDATE, the old
 * object too, so a review can be larger than the request that caused it; the CRDs' size limits keep
 * every object far below this.
 */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

/** AdmissionReview `admission.k8s.io/v1` as the API server sends it; only what the service reads. */
export const admissionReviewSchema = z.object({
  apiVersion: z.literal(ADMISSION_API_VERSION, { error: `apiVersion must be ${ADMISSION_API_VERSION}` }),
  kind: z.literal('AdmissionReview', { error: 'kind must be AdmissionReview' }),
  request: z.object({
    // Bounded, so that no answer or log line echoes more than a uid or a name can be.
    uid: z.string().min(1).max(MAX_UID_LENGTH),
    kind: groupVersionKind,
    subResource: z.string().optional(),
    name: z.string().max(MAX_NAME_LENGTH).optional(),
    namespace: z.string().max(MAX_NAME_LENGTH).optional(),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
    object: z.unknown().optional(),
    oldObject: z.unknown().optional(),
    dryRun: z.boolean().optional(),
  }),
});

export type AdmissionReview = z.output<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview['request'];

/** The response half of an AdmissionReview. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly reason: string; readonly message: string };
  readonly warnings?: readonly string[];
}
