/**
 * Stops the run's control plane. Its folder (logs, kubeconfigs, state) is removed after a green run,
 * kept after a red one or when E2E_KEEP is set; after a red run the log tails are printed too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { require as tsxRequire } from 'tsx/cjs/api';

type Lib = typeof import('../../scripts/lib/control-plane.js');

// Set by global-setup.ts (the name is cluster.ts's STATE_ENV).
const STATE_ENV = 'E2E_CONTROL_PLANE_STATE';

export default async function globalTeardown(_globalConfig: unknown, project: { rootDir: string }): Promise<void> {
  const stateFile = process.env[STATE_ENV];
  if (!stateFile || !fs.existsSync(stateFile)) return;
  // Loaded through tsx for the reason given in global-setup.ts.
  const from = path.join(project.rootDir, 'test', 'e2e', 'global-teardown.ts');
  const lib = tsxRequire('../../scripts/lib/control-plane.ts', from) as Lib;
  const dir = path.dirname(stateFile);
  const state = lib.readState(dir);
  const status = await lib.controlPlaneStatus(dir);
  // Taken before stopping: what went wrong is above the shutdown chatter.
  const tails = lib.logTails(state);
  await lib.stopControlPlane(dir);
  // etcd's data is only useful while etcd runs; the logs are what a person looks at.
  fs.rmSync(state.etcd.dataDir, { recursive: true, force: true });

  const report = (why: string): void =>
    void process.stderr.write(`[e2e] ${why}; control plane logs kept in ${dir}\n${tails}\n`);
  const healthy = status.etcd && status.apiserver && status.ready;
  if (!healthy) report(`the control plane was not healthy at the end of the run (${JSON.stringify(status)})`);
  onJestExitCode((code) => {
    if (healthy) finish(dir, code, report);
    // All e2e files run inside jest's main process here (2 cores → one worker → in band). Several such
    // runs never ended: after the 'exit' event Node spun at 100% CPU in its environment cleanup
    // (node::Environment::CleanupHandles, seen with gdb) for 40 minutes and more. Exiting from the last
    // exit listener ends the process with jest's exit code and skips that cleanup; output is already
    // written (stdio to files, pipes and terminals is synchronous on Linux).
    process.exit(code);
  });
}

function finish(dir: string, exitCode: number, report: (why: string) => void): void {
  if (exitCode !== 0) report(`the e2e run failed (exit ${exitCode})`);
  else if (process.env.E2E_KEEP) process.stderr.write(`[e2e] E2E_KEEP: control plane logs kept in ${dir}\n`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

// Jest gives the global teardown no results and sets the exit code only in a process 'exit' listener
// that it adds after the teardown returns. Keep our listener behind every later one so it sees that
// code. Exit listeners must be synchronous, which is all `finish` needs.
function onJestExitCode(fn: (code: number) => void): void {
  const listener = (code: number): void => fn(Number(process.exitCode ?? code));
  process.on('exit', listener);
  process.on('newListener', (event: string | symbol, added: unknown) => {
    if (event !== 'exit' || added === listener) return;
    process.nextTick(() => {
      process.removeListener('exit', listener);
      process.on('exit', listener);
    });
  });
}

