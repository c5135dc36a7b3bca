import { parseArgs } from 'node:util';
import { runCheck } from './check.js';
import { InputError } from './load.js';

const USAGE = `usage: placement-quota <command> [options]

commands:
  check   decide a WorkloadPlacement offline, as the webhook would
          -f, --filename <file|dir>  state: SyncTargets, WorkspaceQuotas, WorkloadPlacements (repeatable)
          --review <file>            the WorkloadPlacement under review (a CREATE)
          --old <file>               its stored version: review an UPDATE instead
          --now <RFC3339>            clock for heartbeat staleness (default: now)
          --config <file>            overcommit ratios, default quota (YAML)
          -o, --output <text|json>   output format (default text)

exit status: 0 allowed, 1 denied, 2 bad input`;

/** Bad usage is bad input too: exit 2, as for a bad file. */
function usageError(message: string): never {
  throw new InputError(`${message}\n${USAGE}`);
}

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      filename: { type: 'string', short: 'f', multiple: true, default: [] },
      review: { type: 'string' },
      old: { type: 'string' },
      now: { type: 'string' },
      config: { type: 'string' },
      output: { type: 'string', short: 'o', default: 'text' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.review) usageError('check: --review is required');
  if (values.output !== 'text' && values.output !== 'json') usageError(`check: unknown output format ${values.output}`);
  const result = await runCheck({
    files: values.filename,
    review: values.review,
    old: values.old,
    now: values.now,
    config: values.config,
    json: values.output === 'json',
  });
  process.stdout.write(`${result.output}\n`);
  return result.exitCode;
}

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return await check(rest);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        return usageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    const bad = error instanceof InputError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!bad) throw error;
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
}
