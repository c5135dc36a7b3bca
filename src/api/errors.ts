import { z } from 'zod';
import { capped, joinCapped } from './limits.js';

/** Renders a path as Kubernetes names fields: `spec.targetClusters[0].name`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/**
 * The issues, each naming the field: `spec.resourceRequirements.cpu: invalid quantity "2 cores": …`;
 * the first few only, then how many more (a huge object must not make a huge message).
 */
export function describeIssues(error: z.ZodError): string {
  return joinCapped(error.issues.map((issue) => capped(issue.path.length > 0 ? `${fieldPath(issue.path)}: ${issue.message}` : issue.message, 1024)));
}

// client-node's ApiException: the HTTP status and the body, which for the API server is a Status
// (as an object, or as its JSON text). Its `message` spans status line, body and headers.
const apiErrorSchema = z.object({ code: z.number().int(), body: z.unknown() });
const statusMessageSchema = z.object({ message: z.string().min(1) });
const MAX_MESSAGE_CHARS = 300;

function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  const status = statusMessageSchema.safeParse(value);
  return status.success ? status.data.message : undefined;
}

/**
 * A failed API call in one short line a person can read in a denial: `the API server answered
 * 500: etcdserver: request timed out`, or the error's first line when it is not an HTTP answer
 * (a refused connection, a timeout). The whole error belongs in the log, not in the message.
 */
export function describeApiError(error: unknown): string {
  const api = apiErrorSchema.safeParse(error);
  if (api.success) {
    const message = statusMessage(api.data.body);
    return `the API server answered ${api.data.code}${message ? `: ${message.slice(0, MAX_MESSAGE_CHARS)}` : ''}`;
  }
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').slice(0, MAX_MESSAGE_CHARS) || 'unknown error';
}
