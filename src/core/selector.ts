import type { LabelSelector } from '../api/resources.js';

type Labels = Readonly<Record<string, string>>;
type Expression = LabelSelector['matchExpressions'][number];

function expressionMatches(expr: Expression, labels: Labels): boolean {
  const present = Object.hasOwn(labels, expr.key);
  switch (expr.operator) {
    case 'In':
      return present && expr.values.includes(labels[expr.key] ?? '');
    case 'NotIn':
      return !present || !expr.values.includes(labels[expr.key] ?? '');
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
  }
}

/** Kubernetes label-selector semantics; an absent selector matches everything. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  const labelsMatch = Object.entries(selector.matchLabels).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
  return labelsMatch && selector.matchExpressions.every((expr) => expressionMatches(expr, labels));
}
