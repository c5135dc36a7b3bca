/**
 * Builds the webhook image from the repository's Dockerfile without a Docker engine or a registry
 * (buildah, a base image made from this machine; see scripts/lib/image.ts and docs/testing.md):
 *
 *   npx tsx scripts/image.ts [--out image.tar]
 *
 * writes a docker-archive tagged with the Deployment's image name; `ctr -n k8s.io images import
 * image.tar` loads it into a node's containerd.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildWebhookImage } from './lib/image.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'image.tar' } }, strict: true });
try {
  const image = buildWebhookImage(path.resolve(values.out), (line) => process.stderr.write(`[image] ${line}\n`));
  process.stdout.write(`${image.name} -> ${image.archive}\n`);
} catch (err) {
  process.stderr.write(`image: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
