import { z } from 'zod';

/**
 * One line of a watch stream, classified. Object events carry the raw object (the kind's schema
 * judges it later) and the resourceVersion to resume from once the event is applied.
 */
export type WatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: unknown; readonly resourceVersion: string }
  /** The server confirms everything up to this resourceVersion was sent (nothing to apply). */
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  /** ERROR with code 410: the resourceVersion is no longer served; only a new list can continue. */
  | { readonly type: 'EXPIRED'; readonly message: string }
  /** Any other ERROR event: the stream ends; resuming from the last resourceVersion is safe. */
  | { readonly type: 'ERROR'; readonly code: number | undefined; readonly message: string }
  /** Not a watch event this client understands; resuming from the last resourceVersion is safe. */
  | { readonly type: 'MALFORMED'; readonly reason: string };

const envelope = z.object({ type: z.string(), object: z.record(z.string(), z.unknown()) });

const versioned = z.object({ metadata: z.object({ resourceVersion: z.string().min(1) }) });

/** metav1.Status as the API server puts it in an ERROR event or an error response. */
export const statusSchema = z.object({
  code: z.number().int().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

export type Status = z.output<typeof statusSchema>;

/** True for `410 Gone` / reason `Expired`: the resourceVersion or continue token is too old. */
export function isExpiredStatus(status: Status): boolean {
  return status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone';
}

function classifyError(object: unknown): WatchEvent {
  const status = statusSchema.safeParse(object);
  if (!status.success) return { type: 'ERROR', code: undefined, message: 'ERROR event without a Status' };
  const message = status.data.message ?? status.data.reason ?? 'watch error';
  return isExpiredStatus(status.data) ? { type: 'EXPIRED', message } : { type: 'ERROR', code: status.data.code, message };
}

/** Classifies a decoded watch event (`{type, object}`). */
export function classifyEvent(value: unknown): WatchEvent {
  const event = envelope.safeParse(value);
  if (!event.success) return { type: 'MALFORMED', reason: 'not a watch event ({type, object})' };
  const { type, object } = event.data;
  if (type === 'ERROR') return classifyError(object);
  if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') {
    return { type: 'MALFORMED', reason: `unknown watch event type ${JSON.stringify(type)}` };
  }
  const version = versioned.safeParse(object);
  // Without a resourceVersion the stream cannot be resumed after this event: treat it as broken.
  if (!version.success) return { type: 'MALFORMED', reason: `${type} event without metadata.resourceVersion` };
  const resourceVersion = version.data.metadata.resourceVersion;
  return type === 'BOOKMARK' ? { type, resourceVersion } : { type, object, resourceVersion };
}

/** Decodes and classifies one line of a watch stream. */
export function classifyLine(line: string): WatchEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { type: 'MALFORMED', reason: 'a line of the watch stream is not JSON' };
  }
  return classifyEvent(value);
}
