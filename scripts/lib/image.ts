/**
 * The images a real node runs, built here without a registry or a Docker engine (docs/testing.md):
 *
 * - the webhook image: the repository's own `Dockerfile`, built by Debian's buildah (chroot isolation,
 *   layer cache), FROM a base image made locally under the name the Dockerfile asks for;
 * - the pause image: the static pause binary of test/controlplane/pause, alone.
 *
 * Both are written as docker-archive files, which `ctr -n k8s.io images import` loads into containerd
 * under the names the manifests and containerd's config use. buildah's storage sits in the per-user
 * cache beside the control plane's binaries, so a warm build reuses every unchanged layer.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { binaryCacheDir, type Log } from './control-plane.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const noop: Log = () => undefined;

/** Name and tag of the local pause image; containerd's `sandbox_image` names it too. */
export const PAUSE_IMAGE = 'localhost/placement-quota-pause:1';

/** A built image: its name (as kubelet and containerd resolve it) and the archive to import. */
export interface BuiltImage {
  name: string;
  archive: string;
}

/** Where buildah keeps its layers, per user and outside the checkout, like the control plane's binaries. */
export function imageCacheDir(): string {
  return path.join(path.dirname(path.dirname(binaryCacheDir())), 'images');
}

function storageArgs(): string[] {
  const dir = imageCacheDir();
  return ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'overlay'];
}

function buildah(args: string[], log: Log = noop): string {
  const res = spawnSync('buildah', [...storageArgs(), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) {
    log(res.stdout.trimEnd().split('\n').slice(-20).join('\n'));
    throw new Error(`buildah ${args.join(' ')} failed (exit ${res.status ?? res.signal}):\n${(res.stderr || String(res.error ?? '')).trimEnd()}`);
  }
  return res.stdout.trim();
}

/** The image the Deployment runs, read from manifests/deployment.yaml (what the pods will ask for). */
export function webhookImageName(): string {
  const text = fs.readFileSync(path.join(repoRoot, 'manifests', 'deployment.yaml'), 'utf8');
  const deployment = parseAllDocuments(text)[0]?.toJS() as { spec: { template: { spec: { containers: { image: string }[] } } } };
  const image = deployment.spec.template.spec.containers[0]?.image;
  if (!image) throw new Error('manifests/deployment.yaml names no container image');
  return image;
}

/** Every `FROM` image of the Dockerfile that is not one of its own stages. */
export function dockerfileBaseImages(dockerfile = path.join(repoRoot, 'Dockerfile')): string[] {
  const stages = new Set<string>();
  const bases = new Set<string>();
  for (const line of fs.readFileSync(dockerfile, 'utf8').split('\n')) {
    const match = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line.trim());
    if (!match?.[1]) continue;
    if (!stages.has(match[1])) bases.add(match[1]);
    if (match[2]) stages.add(match[2]);
  }
  return [...bases];
}

// Docker Hub's short names, as containerd and buildah expand them.
function qualified(name: string): string {
  const first = name.split('/')[0] ?? '';
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return name;
  return `docker.io/${name.includes('/') ? name : `library/${name}`}`;
}

function hasImage(name: string): boolean {
  return spawnSync('buildah', [...storageArgs(), 'inspect', '--type', 'image', name], { stdio: 'ignore' }).status === 0;
}

const BASE_LABEL = 'io.placement-quota.base.node';

/**
 * The Dockerfile's base (`node:20-bookworm-slim`) made from this machine: no registry can be reached
 * to pull it. It carries what the Dockerfile and the Deployment use of the real one: node, npm and npx
 * under /usr/local, a shell and `sleep` (the preStop hook; busybox-static), /usr/bin/env (npm's
 * shebang), the `node` user with uid/gid 1000, a world-writable /tmp, and this machine's CA bundle
 * (npm inside the build must trust what the host trusts). Rebuilt when the host's node changes.
 */
function ensureBaseImage(name: string, log: Log): void {
  if (hasImage(name) && buildah(['inspect', '--type', 'image', '--format', `{{index .OCIv1.Config.Labels "${BASE_LABEL}"}}`, name]) === process.version) return;
  log(`making the base image ${name} from this machine's node ${process.version} and busybox`);
  const container = buildah(['from', 'scratch']);
  try {
    fillBase(buildah(['mount', container]));
    buildah(['umount', container]);
    buildah([
      'config',
      '--env', 'PATH=/usr/local/bin:/usr/bin:/bin',
      '--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      '--label', `${BASE_LABEL}=${process.version}`,
      '--cmd', 'node',
      container,
    ]);
    buildah(['commit', '--rm', container, qualified(name)]);
  } catch (err) {
    spawnSync('buildah', [...storageArgs(), 'rm', container], { stdio: 'ignore' });
    throw err;
  }
}

function fillBase(root: string): void {
  const at = (p: string): string => path.join(root, p);
  for (const dir of ['bin', 'usr/bin', 'usr/local/bin', 'usr/local/lib/node_modules', 'etc/ssl/certs', 'root', 'home/node']) fs.mkdirSync(at(dir), { recursive: true });
  fs.mkdirSync(at('tmp'), { mode: 0o1777 });
  fs.chmodSync(at('tmp'), 0o1777);
  fs.copyFileSync(hostFile('busybox'), at('bin/busybox'));
  for (const tool of ['sh', 'sleep', 'cat', 'ls', 'env', 'id', 'mkdir', 'rm', 'cp', 'mv', 'ln', 'chmod', 'touch']) fs.symlinkSync('busybox', at(`bin/${tool}`));
  fs.symlinkSync('/bin/busybox', at('usr/bin/env'));
  fs.copyFileSync(process.execPath, at('usr/local/bin/node'));
  for (const lib of sharedLibraries(process.execPath)) {
    fs.mkdirSync(path.dirname(at(lib)), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), at(lib));
  }
  const npm = path.join(path.dirname(fs.realpathSync(path.join(path.dirname(process.execPath), 'npm'))), '..');
  fs.cpSync(npm, at('usr/local/lib/node_modules/npm'), { recursive: true });
  fs.symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', at('usr/local/bin/npm'));
  fs.symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', at('usr/local/bin/npx'));
  fs.copyFileSync('/etc/ssl/certs/ca-certificates.crt', at('etc/ssl/certs/ca-certificates.crt'));
  fs.writeFileSync(at('etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
  fs.writeFileSync(at('etc/group'), 'root:x:0:\nnode:x:1000:\n');
  fs.chownSync(at('home/node'), 1000, 1000);
}

function hostFile(name: string): string {
  const found = ['/bin', '/usr/bin', '/usr/local/bin'].map((dir) => path.join(dir, name)).find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${name} not found on this machine (apt-get install busybox-static)`);
  return found;
}

function sharedLibraries(binary: string): string[] {
  const res = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`ldd ${binary} failed: ${res.stderr}`);
  return [...res.stdout.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1] ?? '').filter(Boolean);
}

/**
 * Builds the repository's Dockerfile with buildah and writes it to `archive` (a docker-archive tagged
 * with the Deployment's image name). Warm: seconds when nothing changed, the TypeScript build and
 * later layers when src/ did.
 */
export function buildWebhookImage(archive: string, log: Log = noop): BuiltImage {
  for (const base of dockerfileBaseImages()) ensureBaseImage(base, log);
  const name = webhookImageName();
  log(`building ${name} from the Dockerfile with buildah`);
  const npmCache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
  buildah([
    'bud',
    '--isolation', 'chroot',
    '--layers',
    '--pull=false',
    '--network', 'host',
    // npm's own cache, shared with the host: the build's `npm install` downloads nothing already fetched.
    ...(npmCache ? ['--volume', `${npmCache}:/root/.npm`] : []),
    '--tag', qualified(name),
    '--file', path.join(repoRoot, 'Dockerfile'),
    repoRoot,
  ], log);
  return exportImage(name, archive);
}

/** The pause image: the static binary at `/pause`, its entrypoint. */
export function buildPauseImage(pauseBinary: string, archive: string): BuiltImage {
  if (!hasImage(PAUSE_IMAGE) || buildah(['inspect', '--type', 'image', '--format', `{{index .OCIv1.Config.Labels "${BASE_LABEL}"}}`, PAUSE_IMAGE]) !== binaryStamp(pauseBinary)) {
    const container = buildah(['from', 'scratch']);
    buildah(['copy', container, pauseBinary, '/pause']);
    buildah(['config', '--entrypoint', '["/pause"]', '--user', '65535:65535', '--label', `${BASE_LABEL}=${binaryStamp(pauseBinary)}`, container]);
    buildah(['commit', '--rm', container, PAUSE_IMAGE]);
  }
  return exportImage(PAUSE_IMAGE, archive);
}

function binaryStamp(file: string): string {
  const stat = fs.statSync(file);
  return `${stat.size}-${Math.floor(stat.mtimeMs)}`;
}

function exportImage(name: string, archive: string): BuiltImage {
  fs.mkdirSync(path.dirname(archive), { recursive: true });
  fs.rmSync(archive, { force: true });
  buildah(['push', '--quiet', qualified(name), `docker-archive:${archive}:${name}`]);
  return { name, archive };
}
