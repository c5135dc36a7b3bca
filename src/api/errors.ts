import type { z } from 'zod';

/** Renders a path as Kubernetes names fields: `spec.targetClusters[0].name`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** One line per issue, each naming the field: `spec.resourceRequirements.cpu: invalid quantity "2 cores": …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${fieldPath(issue.path)}: ${issue.message}` : issue.message))
    .join('; ');
}
