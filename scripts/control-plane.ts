/**
 * Control plane CLI (see docs/testing.md):
 *
 *   tsx scripts/control-plane.ts build [--node]             build etcd + kube-apiserver into the cache (if missing);
 *                                                           --node: also the real node's binaries (docs/testing.md)
 *   tsx scripts/control-plane.ts up [--dir D] [--compaction-interval 5m]
 *                                                           start on loopback, leave it running, print how to use it
 *   tsx scripts/control-plane.ts down [--dir D]             stop what `up` started
 *   tsx scripts/control-plane.ts status [--dir D]           exit 0 when ready, 1 otherwise
 *
 * D defaults to `.run/control-plane` (git-ignored).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  controlPlaneStatus,
  ensureBinaries,
  ensureNodeBinaries,
  startControlPlane,
  stopControlPlane,
  type Log,
} from './lib/control-plane.js';

const log: Log = (line) => process.stderr.write(`[control-plane] ${line}\n`);

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { dir: { type: 'string', default: '.run/control-plane' }, 'compaction-interval': { type: 'string' }, node: { type: 'boolean', default: false } },
  });
  const dir = path.resolve(values.dir);
  switch (positionals[0]) {
    case 'build':
      return build(values.node);
    case 'up':
      return up(dir, values['compaction-interval']);
    case 'down':
      await stopControlPlane(dir);
      log(`stopped (${dir})`);
      return 0;
    case 'status':
      return status(dir);
    default:
      process.stderr.write('usage: control-plane.ts build [--node] | up [--dir D] [--compaction-interval 5m] | down [--dir D] | status [--dir D]\n');
      return 2;
  }
}

async function build(node: boolean): Promise<number> {
  const binaries = await ensureBinaries(log);
  log(`etcd: ${binaries.etcd}`);
  log(`kube-apiserver: ${binaries.kubeApiserver}`);
  if (node) for (const [name, file] of Object.entries(await ensureNodeBinaries(log))) log(`${name}: ${file}`);
  return 0;
}

async function up(dir: string, compactionInterval: string | undefined): Promise<number> {
  // No reaper: the control plane is meant to outlive this command, until `down`.
  const cp = await startControlPlane({ dir, log, reapWithParent: false, compactionInterval });
  process.stdout.write(
    [
      `server:             ${cp.server}`,
      `admin kubeconfig:   ${cp.adminKubeconfig}`,
      `service kubeconfig: ${cp.serviceKubeconfig}`,
      `logs:               ${cp.logs.etcd}`,
      `                    ${cp.logs.apiserver}`,
      '',
      `export KUBECONFIG=${cp.adminKubeconfig}`,
      `stop with: tsx scripts/control-plane.ts down --dir ${dir}`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function status(dir: string): Promise<number> {
  const s = await controlPlaneStatus(dir);
  process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  return s.ready ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
