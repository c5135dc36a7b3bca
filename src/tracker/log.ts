/** The part of a pino logger the tracker uses; a pino `Logger` fits as it is. */
export interface TrackerLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, unknown>): TrackerLog;
}
