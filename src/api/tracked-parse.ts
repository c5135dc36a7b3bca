/**
 * Parsing a tracked object of any kind (the tracker's watch events, the CLI's files): each kind's schema,
 * placements through the fast path of placement-decoding.ts, which sits on top of the schemas.
 */
import type { z } from 'zod';
import { parsePlacement } from './placement-decoding.js';
import { syncTargetSchema, workspaceQuotaSchema, type TrackedKind, type TrackedObject } from './resources.js';

export type TrackedParse = { readonly success: true; readonly tracked: TrackedObject } | { readonly success: false; readonly error: z.ZodError };

/** Parses an object with its kind's schema. One case per kind keeps the kind and its parsed object correlated in the union. */
export function parseTrackedObject(kind: TrackedKind, input: unknown): TrackedParse {
  switch (kind) {
    case 'SyncTarget': {
      const result = syncTargetSchema.safeParse(input);
      return result.success ? { success: true, tracked: { kind, object: result.data } } : result;
    }
    case 'WorkspaceQuota': {
      const result = workspaceQuotaSchema.safeParse(input);
      return result.success ? { success: true, tracked: { kind, object: result.data } } : result;
    }
    case 'WorkloadPlacement': {
      const result = parsePlacement(input);
      return result.success ? { success: true, tracked: { kind, object: result.data } } : result;
    }
  }
}
