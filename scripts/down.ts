/** `npm run down`: stops what `npm run up` started (webhooks, forwarder, etcd, kube-apiserver). */
import * as path from 'node:path';
import { stopControlPlane } from './lib/control-plane.js';
import { stopWebhooks } from './lib/webhook-processes.js';

const RUN_DIR = path.resolve('.run');
await stopWebhooks(RUN_DIR);
await stopControlPlane(path.join(RUN_DIR, 'control-plane'));
process.stderr.write('down: stopped the webhook(s) and the control plane\n');
