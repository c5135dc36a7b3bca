import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runCheck } from './check.js';
import { InputError } from './load.js';

const USAGE = `usage: placement-quota <command> [options]

commands:
  serve   run the admission webhook (config: --config <file>, PLACEMENT_QUOTA_* environment variables)
  check   decide a WorkloadPlacement offline, as the webhook would
          -f, --filename <file|dir>  state: SyncTargets, WorkspaceQuotas, WorkloadPlacements (repeatable)
          --review <file>            the WorkloadPlacement under review (a CREATE)
          --old <file>               its stored version: review an UPDATE instead
          --now <RFC3339>            clock for heartbeat staleness (default: now)
          --config <file>            overcommit ratios, default quota (YAML)
          -o, --output <text|json>   output format (default text)
  report  the reports of the service's /reports/* from state files (SyncTargets, WorkspaceQuotas, WorkloadPlacements)
          -f, --filename <file|dir>  state files, as for check (repeatable)
          --now <RFC3339>            the report's clock (default: now)
          --config <file>            overcommit ratios, default quota (YAML)
          -o, --output <text|json|csv>  output format (default text)

exit status: 0 allowed, 1 denied, 2 bad input`;

/** Bad usage is bad input too: exit 2, as for a bad file. */
function usageError(message: string): never {
  throw new InputError(`${message}\n${USAGE}`);
}

/** The options `check` and `report` share: the state files, the clock, the config, the output format. */
const STATE_OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true, default: [] as string[] },
  now: { type: 'string' },
  config: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'text' },
} satisfies ParseArgsConfig['options'];

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...STATE_OPTIONS, review: { type: 'string' }, old: { type: 'string' } },
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

const REPORT_FORMATS = ['text', 'json', 'csv'] as const;
const isReportFormat = (format: string): format is (typeof REPORT_FORMATS)[number] => (REPORT_FORMATS as readonly string[]).includes(format);

async function report(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: STATE_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (values.filename.length === 0) usageError('report: -f is required');
  if (!isReportFormat(values.output)) usageError(`report: unknown output format ${values.output}`);
  const { runReport } = await import('./report.js');
  process.stdout.write(await runReport({ files: values.filename, now: values.now, config: values.config, format: values.output }));
  return 0;
}

const commands: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  check,
  report,
  // Loaded on demand: `check` should not pay for the Kubernetes client and the server stack.
  serve: async (args) => (await import('./serve.js')).serve(args),
};

/** Bad input and bad configuration end with exit 2 and a one-line message; anything else is a bug. */
async function isBadInput(error: unknown): Promise<boolean> {
  if (error instanceof InputError) return true;
  if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return true;
  const { ConfigError } = await import('../ops/config.js');
  return error instanceof ConfigError;
}

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  try {
    const command = commands[name];
    if (!command) return usageError(`unknown command ${JSON.stringify(name)}`);
    return await command(rest);
  } catch (error) {
    if (!(await isBadInput(error))) throw error;
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
}
