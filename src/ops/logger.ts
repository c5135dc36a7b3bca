import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * pino's `isoTime` (`,"time":"2026-12-01T17:00:00.123Z"`, the same text), with the date and time
 * formatted once per second and only the milliseconds per line: `new Date().toISOString()` was ~4 µs
 * of each denial's log line under load (~0.8 µs alone), the line itself ~30.
 */
export function isoTimestamp(now: () => number = Date.now): () => string {
  let second = Number.NaN;
  let prefix = '';
  return () => {
    const ms = Math.trunc(now());
    const at = Math.floor(ms / 1000);
    if (at !== second) {
      second = at;
      const iso = new Date(at * 1000).toISOString();
      prefix = `,"time":"${iso.slice(0, -4)}`; // up to the '.' before the milliseconds ("000Z")
    }
    const millis = ms - at * 1000;
    return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z"`;
  };
}

/** JSON lines on stdout. Nothing the service logs carries a secret: no tokens, keys or request bodies. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'placement-quota-webhook' }, timestamp: isoTimestamp() };
  return destination ? pino(options, destination) : pino(options);
}
