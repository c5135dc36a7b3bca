import { parseArgs } from 'node:util';
import { startService } from '../main.js';
import { loadServiceConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';

/** `placement-quota serve [--config file]`: runs the webhook until SIGTERM/SIGINT. */
export async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const config = await loadServiceConfig(process.env, values.config);
  const log = createLogger(config.logLevel);
  const service = await startService(config, log);
  const [signal] = await Promise.race(['SIGTERM', 'SIGINT'].map((name) => new Promise<[string]>((resolve) => process.once(name, () => resolve([name])))));
  log.info({ signal }, 'shutting down');
  await service.stop();
  log.info('stopped');
  return 0;
}
