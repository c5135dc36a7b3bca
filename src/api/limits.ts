/**
 * Size limits of what the service reads (issue 14, bad input: "a huge object"). The CRDs declare the
 * same numbers (maxItems, maxProperties, maxLength), so the API server refuses such objects before
 * any webhook is asked; the zod schemas check them again, cheaply and before any heavy parse, for
 * whatever reaches the service another way. Chosen generously: each is far beyond a real placement,
 * and each bounds the work and the text one review can cause. docs/decisions.md lists them.
 */

/** A Kubernetes object or cluster name (DNS subdomain). */
export const MAX_NAME_LENGTH = 253;
/** A resource name (`cpu`, `example.com/gpu`): a qualified name, prefix and name. */
export const MAX_RESOURCE_NAME_LENGTH = 316;
/** Resources in one list (requirements, capacity, hard, soft, a reservation's charge). */
export const MAX_RESOURCES = 64;
/** Clusters a placement names (targetClusters, selectedClusters) or reports on (clusterStatuses). */
export const MAX_CLUSTERS = 256;
/** Conditions on one object. */
export const MAX_CONDITIONS = 32;
/** A scope selector's matchLabels entries and matchExpressions. */
export const MAX_SELECTOR_TERMS = 32;
/** Values of one matchExpression. */
export const MAX_SELECTOR_VALUES = 256;
/** An AdmissionRequest uid (a UUID is 36). */
export const MAX_UID_LENGTH = 128;
/** Shares of one WorkspaceQuota's headroom: one per webhook replica (docs/consistency.md). */
export const MAX_SHARES = 64;
/** Violations or issues named in one message before "and N more". */
export const MAX_NAMED = 10;

/** The first MAX_NAMED items joined, and how many more there were: messages and log lines stay short. */
export function joinCapped(items: readonly string[], separator = '; '): string {
  if (items.length <= MAX_NAMED) return items.join(separator);
  return `${items.slice(0, MAX_NAMED).join(separator)}${separator}and ${items.length - MAX_NAMED} more`;
}

/** Text from outside cut to `max` characters, marked when cut. */
export const capped = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max)}…`);
