/**
 * Ties the in-cluster install to the certificates of scripts/certs.ts (docs/install.md):
 *
 *   npx tsx scripts/ca-bundle.ts [--ca certs/ca.crt] [--file manifests/validatingwebhookconfiguration.yaml]
 *   npx tsx scripts/ca-bundle.ts --secret [--cert certs/tls.crt] [--key certs/tls.key] | kubectl apply -f -
 *
 * The first writes the CA into `caBundle` of every webhook in the file, in place, keeping its comments.
 * The second prints the `kubernetes.io/tls` Secret the Deployment mounts; it holds the serving
 * certificate and key only, never the CA's key.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMap, isSeq, parseAllDocuments, stringify } from 'yaml';
import { writeFileAtomic } from './lib/certs.js';

export const DEFAULT_WEBHOOK_FILE = 'manifests/validatingwebhookconfiguration.yaml';
export const TLS_SECRET = { name: 'placement-quota-webhook-tls', namespace: 'placement-quota-system' } as const;

const USAGE = `usage: tsx scripts/ca-bundle.ts [--ca certs/ca.crt] [--file ${DEFAULT_WEBHOOK_FILE}]
       tsx scripts/ca-bundle.ts --secret [--cert certs/tls.crt] [--key certs/tls.key] [--ca certs/ca.crt] | kubectl apply -f -

  --ca       the CA that signed the serving certificate (default: certs/ca.crt)
  --file     the ValidatingWebhookConfiguration manifest to update in place
  --secret   print the kubernetes.io/tls Secret ${TLS_SECRET.namespace}/${TLS_SECRET.name} instead
  --cert     serving certificate for --secret (default: certs/tls.crt)
  --key      serving key for --secret (default: certs/tls.key)`;

/** A problem with the input files: printed with the usage, exit code 2. */
export class CaBundleError extends Error {
  override readonly name = 'CaBundleError';
}

/** The certificates in a PEM text, in order. */
function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/**
 * Checks that `pem` holds CA certificates only, so a serving certificate given by mistake (tls.crt for
 * ca.crt) is caught here and not as a TLS error in the API server's log.
 */
export function checkCaBundle(pem: string, now: Date = new Date()): void {
  const certs = pemCertificates(pem);
  if (certs.length === 0) throw new CaBundleError('no PEM certificate in the CA file');
  for (const cert of certs) {
    if (!cert.ca) throw new CaBundleError(`${cert.subject.replace(/\n/g, ', ')} is not a CA certificate (did you pass tls.crt?)`);
    if (Date.parse(cert.validTo) < now.getTime()) throw new CaBundleError(`the CA ${cert.subject.replace(/\n/g, ', ')} expired on ${cert.validTo}`);
  }
}

/**
 * Sets `clientConfig.caBundle` of every webhook of every ValidatingWebhookConfiguration in a YAML
 * text to the base64 of `caPem`, and returns the text. Comments, key order and flow style stay as
 * they were; only the bundles change. Pure: no files, no clock.
 */
export function setCaBundle(yamlText: string, caPem: string): string {
  const caBundle = Buffer.from(caPem).toString('base64');
  const docs = parseAllDocuments(yamlText);
  if (docs.length === 0) throw new CaBundleError('the file is empty');
  let updated = 0;
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new CaBundleError(`not valid YAML: ${doc.errors[0]?.message ?? ''}`);
    if (doc.get('kind') !== 'ValidatingWebhookConfiguration') continue;
    const webhooks = doc.get('webhooks');
    if (!isSeq(webhooks) || webhooks.items.length === 0) throw new CaBundleError('the ValidatingWebhookConfiguration has no webhooks');
    webhooks.items.forEach((webhook, i) => {
      if (!isMap(webhook) || !isMap(webhook.get('clientConfig'))) throw new CaBundleError(`webhooks[${i}] has no clientConfig`);
      doc.setIn(['webhooks', i, 'clientConfig', 'caBundle'], caBundle);
      updated += 1;
    });
  }
  if (updated === 0) throw new CaBundleError('no ValidatingWebhookConfiguration in the file');
  // lineWidth 0: a bundle is one long word; never fold it, never re-wrap anything else.
  return docs.map((doc) => doc.toString({ lineWidth: 0, flowCollectionPadding: false })).join('');
}

export interface SecretOptions {
  name?: string;
  namespace?: string;
  /** When given, the certificate must be signed by (one of) these CA certificates. */
  caPem?: string;
}

/**
 * The `kubernetes.io/tls` Secret manifest for the serving certificate, as YAML. Refuses a key that
 * does not belong to the certificate, and a certificate the given CA did not sign: either would
 * make every admission call fail its TLS handshake once the pods load it.
 */
export function tlsSecretManifest(certPem: string, keyPem: string, options: SecretOptions = {}): string {
  const [cert] = pemCertificates(certPem);
  if (!cert) throw new CaBundleError('no PEM certificate in the certificate file');
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new CaBundleError('the key does not belong to the certificate');
  if (options.caPem !== undefined && !pemCertificates(options.caPem).some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    throw new CaBundleError('the certificate was not signed by the CA (run scripts/certs.ts again, or pass --ca)');
  }
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: options.name ?? TLS_SECRET.name,
      namespace: options.namespace ?? TLS_SECRET.namespace,
      labels: { 'app.kubernetes.io/name': 'placement-quota-webhook', 'app.kubernetes.io/part-of': 'placement-quota' },
    },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(certPem).toString('base64'),
      'tls.key': Buffer.from(keyPem).toString('base64'),
    },
  };
  return stringify(secret, { lineWidth: 0 });
}

function readInput(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CaBundleError(`cannot read the ${what} ${file}: ${code} (make one with: npx tsx scripts/certs.ts)`);
  }
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      ca: { type: 'string', default: 'certs/ca.crt' },
      file: { type: 'string', default: DEFAULT_WEBHOOK_FILE },
      secret: { type: 'boolean', default: false },
      cert: { type: 'string', default: 'certs/tls.crt' },
      key: { type: 'string', default: 'certs/tls.key' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.secret) {
    // The CA check is a courtesy: without a CA file (a cert from elsewhere) the Secret is still printed.
    const caPem = existsSync(values.ca) ? readInput(values.ca, 'CA') : undefined;
    process.stdout.write(tlsSecretManifest(readInput(values.cert, 'certificate'), readInput(values.key, 'key'), { caPem }));
    return 0;
  }
  const caPem = readInput(values.ca, 'CA');
  checkCaBundle(caPem);
  const file = resolve(values.file);
  const before = readInput(file, 'webhook manifest');
  const after = setCaBundle(before, caPem);
  if (after !== before) writeFileAtomic(file, after, 0o644);
  const fingerprint = pemCertificates(caPem)[0]?.fingerprint256 ?? '';
  console.log(`${after === before ? 'unchanged' : 'updated  '} ${values.file}: caBundle = ${values.ca} (sha256 ${fingerprint})`);
  return 0;
}

// Run only as a command: the unit test imports the functions above. Compared by real path: run
// through a symlink (a checkout whose scripts/ links here) the module's URL is the link's target,
// and a plain comparison silently did nothing and exited 0.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(resolve(process.argv[1]))).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    const known = err instanceof CaBundleError || (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    console.error(`ca-bundle: ${(err as Error).message}${known ? `\n\n${USAGE}` : ''}`);
    process.exitCode = known ? 2 : 1;
  }
}
