import type { Condition } from '../api/fields.js';
import type { WorkspaceQuota } from '../api/resources.js';
import { exceeded, formatForHumans, formatList, mask, ZERO, type ResourceList } from '../quantity/index.js';

/** The status the service keeps on a WorkspaceQuota, in wire form. */
export interface QuotaStatus {
  readonly hard: Record<string, string>;
  readonly used: Record<string, string>;
  readonly summary: Record<string, string>;
  readonly phase: 'Active' | 'Exceeded';
  readonly conditions: readonly WireCondition[];
}

export interface WireCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

function exceededCondition(over: readonly string[], previous: Condition | undefined, nowIso: string): WireCondition {
  const status = over.length > 0 ? 'True' : 'False';
  return {
    type: 'QuotaExceeded',
    status,
    reason: over.length > 0 ? 'UsageOverHard' : 'WithinLimits',
    message: over.length > 0 ? `used exceeds hard for ${over.join(', ')}` : 'used is within hard',
    // Kubernetes semantics: the time the status last flipped, not the time it was last written.
    lastTransitionTime: previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : nowIso,
  };
}

/**
 * What `status` should say for a quota given its charged usage: `hard` mirrors spec, `used` counts the
 * resources the quota limits, `summary` is `used/hard` for the printer columns, `phase` and the
 * QuotaExceeded condition tell whether usage is over (a quota lowered below usage).
 */
export function desiredQuotaStatus(quota: WorkspaceQuota, charged: ResourceList, nowIso: string): QuotaStatus {
  const limited = Object.keys(quota.spec.hard);
  const used = mask({ ...Object.fromEntries(limited.map((name) => [name, ZERO])), ...charged }, limited);
  const over = exceeded(used, quota.spec.hard);
  const summary = Object.fromEntries(
    limited.sort().map((name) => [name, `${formatForHumans(used[name] ?? ZERO)}/${formatForHumans(quota.spec.hard[name] ?? ZERO)}`]),
  );
  const previous = quota.status.conditions.find((condition) => condition.type === 'QuotaExceeded');
  return {
    hard: formatList(quota.spec.hard),
    used: formatList(used),
    summary,
    phase: over.length > 0 ? 'Exceeded' : 'Active',
    conditions: [exceededCondition(over, previous, nowIso)],
  };
}

/** The parts of a status that matter for "is it current": quantities canonical, condition without its time. */
function comparable(status: {
  hard?: Record<string, string>;
  used?: Record<string, string>;
  summary?: Record<string, string> | undefined;
  phase?: string | undefined;
  condition?: { status: string; message: string } | undefined;
}): string {
  const { hard = {}, used = {}, summary = {}, phase, condition } = status;
  return JSON.stringify({ hard, used, summary, phase, condition: condition && { status: condition.status, message: condition.message } });
}

/** Whether the stored status already says what `desired` says (ignoring how quantities are spelled). */
export function quotaStatusCurrent(quota: WorkspaceQuota, desired: QuotaStatus): boolean {
  const stored = quota.status;
  const current = comparable({
    hard: stored.hard && formatList(stored.hard),
    used: stored.used && formatList(stored.used),
    summary: stored.summary,
    phase: stored.phase,
    condition: stored.conditions.find((condition) => condition.type === 'QuotaExceeded'),
  });
  return current === comparable({ ...desired, condition: desired.conditions[0] });
}
