import type { Condition } from '../api/fields.js';

/** A condition as the eviction loop wants it; the time and generation are filled in by {@link withCondition}. */
export interface WantedCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** Condition messages are bounded by the CRD (32 KiB); keep them readable long before that. */
const MAX_MESSAGE = 1024;

const clip = (message: string): string => (message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`);

/**
 * The conditions with `wanted` set, as Kubernetes' meta.SetStatusCondition does: lastTransitionTime
 * moves only when the status changes. Undefined when the stored condition already says the same
 * (status, reason, message, observedGeneration): no write, so the loop cannot feed itself.
 */
export function withCondition(conditions: readonly Condition[], wanted: WantedCondition, nowIso: string, generation: number): Condition[] | undefined {
  const message = clip(wanted.message);
  const stored = conditions.find((condition) => condition.type === wanted.type);
  if (stored && stored.status === wanted.status && stored.reason === wanted.reason && stored.message === message && stored.observedGeneration === generation) {
    return undefined;
  }
  const lastTransitionTime = stored && stored.status === wanted.status ? stored.lastTransitionTime : nowIso;
  const next: Condition = { ...wanted, message, lastTransitionTime, observedGeneration: generation };
  return stored ? conditions.map((condition) => (condition === stored ? next : condition)) : [...conditions, next];
}

/** Applies several wanted conditions in turn; undefined when none changes anything. */
export function withConditions(conditions: readonly Condition[], wanted: readonly WantedCondition[], nowIso: string, generation: number): Condition[] | undefined {
  let current: Condition[] | undefined;
  for (const condition of wanted) current = withCondition(current ?? conditions, condition, nowIso, generation) ?? current;
  return current;
}
