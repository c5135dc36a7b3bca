/**
 * docs/install.md is the one source of truth for installing the service: `npm run up -- --node` and
 * the node e2e suite run its marked shell blocks command by command, as written there. A block is
 * marked by an HTML comment on the line before its fence (`<!-- run: install -->`, invisible when the
 * page is rendered). Comment lines right after a command are what the doc says it prints; where they
 * quote kubectl's output (an error, a dry-run creation) the runner checks it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const INSTALL_DOC = path.join(repoRoot, 'docs', 'install.md');

/** One command of a marked block and the comment lines the doc puts right after it. */
export interface DocCommand {
  text: string;
  notes: string[];
}

/** What the doc says a command does: succeed or fail, and the output it quotes (whitespace folded). */
export interface Expectation {
  fails: boolean;
  output?: string;
}

export interface DocRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The commands of the block marked `<!-- run: <name> -->` in `file`. */
export function docCommands(name: string, file = INSTALL_DOC): DocCommand[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const marker = lines.findIndex((line) => line.trim() === `<!-- run: ${name} -->`);
  if (marker < 0 || !/^```(sh|bash)\s*$/.test(lines[marker + 1] ?? '')) throw new Error(`${file} has no \`<!-- run: ${name} -->\` before a sh block`);
  const end = lines.findIndex((line, i) => i > marker + 1 && line.startsWith('```'));
  return splitCommands(lines.slice(marker + 2, end));
}

function splitCommands(lines: string[]): DocCommand[] {
  const commands: DocCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    if (line.trimStart().startsWith('#')) {
      const last = commands[commands.length - 1];
      // Notes belong to the command just above them (no blank line between).
      if (last && lines[i - 1]?.trim() !== '' && !isHeading(line)) last.notes.push(line.replace(/^\s*#\s?/, ''));
      continue;
    }
    const body = [line];
    const heredoc = /<<-?'?([A-Za-z_]+)'?/.exec(line)?.[1];
    while (heredoc ? lines[i]?.trim() !== heredoc || body.length === 1 : (lines[i] ?? '').endsWith('\\')) {
      i++;
      if (i >= lines.length) throw new Error(`unterminated command in install doc: ${line}`);
      body.push(lines[i] ?? '');
    }
    commands.push({ text: body.join('\n'), notes: [] });
  }
  return commands;
}

// "# 2. The namespace, …": the start of the next step, not a note on the previous command.
function isHeading(line: string): boolean {
  return /^\s*#\s*\d+\./.test(line);
}

const fold = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Quoted kubectl output in a command's notes: an error (the command fails) or a dry-run result. */
export function expectationOf(command: DocCommand): Expectation {
  const quoted = fold(command.notes.join(' '));
  if (quoted.startsWith('Error from server')) return { fails: true, output: quoted };
  if (/ created \(server dry run\)$/.test(quoted)) return { fails: false, output: quoted };
  return { fails: false };
}

/** Whether a run did what the doc says; a reason when it did not. */
export function judge(command: DocCommand, run: DocRun): string | undefined {
  const expected = expectationOf(command);
  const output = fold(`${run.stdout} ${run.stderr}`);
  if (expected.fails !== (run.code !== 0)) return `expected ${expected.fails ? 'a failure' : 'success'}, got exit ${run.code}: ${output}`;
  if (expected.output && !output.includes(expected.output)) return `expected output containing\n  ${expected.output}\ngot\n  ${output}`;
  return undefined;
}

/** Runs one doc command with bash in `cwd` against `kubeconfig` (as `KUBECONFIG`), bounded by `timeoutMs`. */
export async function runDocCommand(command: DocCommand, opts: { cwd: string; kubeconfig: string; timeoutMs?: number }): Promise<DocRun> {
  const child = spawn('bash', ['-o', 'pipefail', '-c', command.text], {
    cwd: opts.cwd,
    env: { ...process.env, KUBECONFIG: opts.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    return { code: code ?? -1, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A folder laid out as a user's checkout for the doc's commands: its own copy of manifests/ (step 3
 * edits the webhook registration in place) and certs/, the repository's scripts and node_modules.
 */
export function prepareInstallDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(repoRoot, 'manifests'), path.join(dir, 'manifests'), { recursive: true });
  for (const entry of ['scripts', 'node_modules', 'package.json']) fs.symlinkSync(path.join(repoRoot, entry), path.join(dir, entry));
}

/**
 * Runs the doc's marked blocks in order, each command as written, and throws at the first one that
 * does not do what the doc says. `onCommand` sees each command with its run (for a person watching).
 */
export async function runDocBlocks(
  names: readonly string[],
  opts: { cwd: string; kubeconfig: string; onCommand?: (command: DocCommand, run: DocRun) => void },
): Promise<void> {
  for (const name of names) {
    for (const command of docCommands(name)) {
      const run = await runDocCommand(command, opts);
      opts.onCommand?.(command, run);
      const problem = judge(command, run);
      if (problem) throw new Error(`docs/install.md (${name}): \`${command.text.split('\n')[0]}\`: ${problem}\n${run.stderr}`);
    }
  }
}
