/**
 * `npm run down`: stops what `npm run up` started (webhooks, forwarder, etcd, kube-apiserver) and,
 * when there is one, the node of `npm run up -- --node` with every change it made to the host; then
 * checks that no process, link, iptables rule, mount or folder of the node is left, and says so.
 */
import * as path from 'node:path';
import { stopControlPlane } from './lib/control-plane.js';
import { isClean, nodeResidue, readNodeState, stopNode } from './lib/node.js';
import { stopWebhooks } from './lib/webhook-processes.js';

const RUN_DIR = path.resolve('.run');
const say = (line: string): void => void process.stderr.write(`down: ${line}\n`);
await stopWebhooks(RUN_DIR);
await stopControlPlane(path.join(RUN_DIR, 'control-plane'));
say('stopped the local webhook(s) and control plane (if any)');
if (process.platform === 'linux' && process.getuid?.() === 0 && (readNodeState() || !isClean(nodeResidue()))) {
  const residue = await stopNode({ log: say });
  for (const [kind, left] of Object.entries(residue)) say(`node ${kind} left: ${left.length === 0 ? 'none' : left.join('; ')}`);
  if (!isClean(residue)) process.exitCode = 1;
}
