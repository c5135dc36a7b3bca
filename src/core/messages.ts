import { MAX_NAMED } from '../api/limits.js';
import { cmp, formatForHumans, max, ZERO, type Quantity } from '../quantity/index.js';
import type { CapacityShortfall, QuotaShortfall, Violation } from './fit.js';
import type { QuotaLimits } from './view.js';

const NANOS_PER_UNIT = 1_000_000_000n;

/** A ratio as a person writes it (`1.2`, `1.5`, `1`), not as a quantity (`1200m`). */
export function formatRatio(ratio: Quantity): string {
  const whole = ratio.nanos / NANOS_PER_UNIT;
  const fraction = (ratio.nanos % NANOS_PER_UNIT).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

const amount = formatForHumans;

function quotaClause(quota: string, row: QuotaShortfall): string {
  return `exceeded ${quota}: ${row.resource} requested ${amount(row.requested)}, used ${amount(row.used)}, hard ${amount(row.limit)}`;
}

function capacityClause(cluster: string, row: CapacityShortfall): string {
  const free = amount(max(row.free, ZERO));
  const basis = `allocatable ${amount(row.allocatable)} x ${formatRatio(row.ratio)} overcommit, allocated ${amount(row.allocated)}`;
  return `cluster ${cluster} lacks ${row.resource}: requested ${amount(row.requested)}, free ${free} (${basis})`;
}

/** One clause per violated (subject, resource), each with the numbers a person needs to act. */
export function describeViolation(violation: Violation): string[] {
  switch (violation.kind) {
    case 'quota':
      return violation.shortfalls.map((row) => quotaClause(violation.quota, row));
    case 'unknown-cluster':
      return [`cluster ${violation.cluster} does not exist`];
    case 'cluster-not-ready':
      return [`cluster ${violation.cluster} ${violation.why}`];
    case 'cluster-unschedulable':
      return [`cluster ${violation.cluster} is unschedulable (spec.unschedulable: true)`];
    case 'cluster-capacity':
      return violation.shortfalls.map((row) => capacityClause(violation.cluster, row));
  }
}

/** The denial message: every violation, then (for cluster problems) where the placement would fit. */
/** How many clauses a violation makes, without writing them. */
const clauseCount = (violation: Violation): number =>
  violation.kind === 'quota' || violation.kind === 'cluster-capacity' ? violation.shortfalls.length : 1;

export function denialMessage(violations: readonly Violation[], clustersWithRoom: readonly string[] | undefined): string {
  // Capped: one review must not make a message (and a log line) the size of its object. Only the
  // clauses named are written: formatting 16k shortfalls to print ten was most of a large denial's cost.
  const named: string[] = [];
  let total = 0;
  for (const violation of violations) {
    if (named.length < MAX_NAMED) named.push(...describeViolation(violation).slice(0, MAX_NAMED - named.length));
    total += clauseCount(violation);
  }
  const more = total > named.length ? [`and ${total - named.length} more`] : [];
  const room = clustersWithRoom ? [`clusters with room: ${clustersWithRoom.length > 0 ? clustersWithRoom.join(', ') : 'none'}`] : [];
  return [...named, ...more, ...room].join('; ');
}

/** An admission warning for a soft limit the request crosses (SPEC §2: admitted, but told). */
export function softLimitWarning(quota: QuotaLimits, row: QuotaShortfall): string {
  const hard = quota.hard[row.resource];
  const hardPart = hard && cmp(hard, ZERO) >= 0 ? `, hard ${amount(hard)}` : '';
  return `${quota.label} is over its soft limit: ${row.resource} requested ${amount(row.requested)}, used ${amount(row.used)}, soft ${amount(row.limit)}${hardPart}`;
}
