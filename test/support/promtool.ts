/**
 * Runs Debian's promtool (package `prometheus`, installed by .ci/run and scripts/ensure-tools.sh).
 * Resolves with its exit code and output; never throws on a non-zero exit.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface PromtoolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function promtool(args: string[], input?: string): Promise<PromtoolResult> {
  const child = spawn(process.env.PROMTOOL ?? 'promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? -1, stdout, stderr };
}
