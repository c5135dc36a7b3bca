import { z } from 'zod';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

/** AdmissionReview `admission.k8s.io/v1` as the API server sends it; only what the service reads. */
export const admissionReviewSchema = z.object({
  apiVersion: z.literal(ADMISSION_API_VERSION, { error: `apiVersion must be ${ADMISSION_API_VERSION}` }),
  kind: z.literal('AdmissionReview', { error: 'kind must be AdmissionReview' }),
  request: z.object({
    uid: z.string().min(1),
    kind: groupVersionKind,
    subResource: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
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
