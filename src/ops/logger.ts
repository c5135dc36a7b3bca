import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout. Nothing the service logs carries a secret: no tokens, keys or request bodies. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'placement-quota-webhook' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
