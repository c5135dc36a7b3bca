/**
 * Certificates for the webhook: a private CA and a serving certificate it signs, made with node-forge.
 *
 * The API server trusts the webhook through `caBundle` in the ValidatingWebhookConfiguration, so the CA
 * is kept across runs: a re-run renews only the serving certificate and the registered bundle stays
 * valid. Files are written atomically (temp file + rename) because the webhook watches them and must
 * never read half a PEM.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import forge from 'node-forge';

/** The names the API server may use to reach the webhook, plus loopback for local runs and tests. */
export const DEFAULT_DNS_NAMES: readonly string[] = [
  'localhost',
  'placement-quota-webhook',
  'placement-quota-webhook.placement-quota-system',
  'placement-quota-webhook.placement-quota-system.svc',
  'placement-quota-webhook.placement-quota-system.svc.cluster.local',
];
export const DEFAULT_IP_ADDRESSES: readonly string[] = ['127.0.0.1'];

/** File names inside the certificate folder; `tls.crt`/`tls.key` match a Kubernetes TLS Secret. */
export const CERT_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdated so a node whose clock is a little behind the one that made the cert still accepts it. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DEFAULT_SERVING_DAYS = 365;
const DEFAULT_CA_DAYS = 3650;
const RSA_BITS = 2048;

/**
 * node:crypto makes the key (OpenSSL, a few tens of ms); forge's own generator is pure JavaScript and
 * takes about a quarter of a second per key, which every control plane start and test file would pay.
 */
function rsaKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

/** PEM-encoded certificate and private key. */
export interface PemPair {
  cert: string;
  key: string;
}

/** Everything `makeCertificates` produces, all PEM. */
export interface CertificateSet {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export interface CertificateOptions {
  /** DNS names added to the defaults (`localhost` and the in-cluster service names). */
  dnsNames?: readonly string[];
  /** IP addresses added to the default `127.0.0.1`. */
  ipAddresses?: readonly string[];
  /** Validity of the serving certificate in days (default 365); never beyond the CA's own expiry. */
  days?: number;
  /** Validity of a new CA in days (default 3650). */
  caDays?: number;
  /** Sign with this CA instead of making a new one. */
  ca?: PemPair;
  /** Clock, for tests. */
  now?: Date;
}

export interface WriteOptions extends Omit<CertificateOptions, 'ca'> {
  /** Make a new CA even when the folder holds one (the registered caBundle must then be updated). */
  newCa?: boolean;
}

export interface WrittenCertificates extends CertificateSet {
  /** True when the CA already in the folder signed the new serving certificate. */
  caReused: boolean;
  /** Absolute paths of the four files. */
  files: { caCert: string; caKey: string; cert: string; key: string };
  /** When the serving certificate expires. */
  notAfter: Date;
}

/** Makes a serving certificate (and a CA, unless one is given) for the webhook. */
export function makeCertificates(options: CertificateOptions = {}): CertificateSet {
  const now = options.now ?? new Date();
  // Bad input fails before any key is generated (the slow part).
  const names = altNames(options);
  for (const [what, days] of [['days', options.days], ['caDays', options.caDays]] as const) {
    if (days !== undefined && (!Number.isInteger(days) || days < 1)) throw new Error(`${what} must be a whole number >= 1, got ${days}`);
  }
  const ca = options.ca ? parseCa(options.ca) : newCa(now, options.caDays ?? DEFAULT_CA_DAYS);
  const notAfter = servingNotAfter(now, options.days ?? DEFAULT_SERVING_DAYS, ca.cert);
  return issue(ca, { commonName: 'placement-quota-webhook.placement-quota-system.svc', notBefore: now, notAfter }, [
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names },
  ]);
}

/** A leaf certificate `ca` signs, for a new key, with `usage` beside the extensions every leaf has. */
function issue(ca: ParsedCa, leaf: { commonName: string; notBefore: Date; notAfter: Date }, usage: object[]): CertificateSet {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(leaf.notBefore.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = leaf.notAfter;
  cert.setSubject([{ name: 'commonName', value: leaf.commonName }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...usage,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return {
    caCert: forge.pki.certificateToPem(ca.cert),
    caKey: forge.pki.privateKeyToPem(ca.key),
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

export interface ClientCertificateOptions {
  /** The certificate's subject CN: the name the webhook can check (`tls.clientNames`). */
  commonName: string;
  /** Sign with this CA instead of making a new one (named `<commonName>-ca`). */
  ca?: PemPair;
  /** Validity in days (default 365); never beyond the CA's own expiry. */
  days?: number;
  now?: Date;
}

/**
 * A client certificate (extended key usage clientAuth only) and, unless one is given, a CA of its
 * own: what the API server presents to the webhook (its AdmissionConfiguration kubeconfig) and the
 * CA the webhook checks it against (`tls.clientCAFile`). A CA used for nothing else, so that "signed
 * by it" means "is the API server".
 */
export function makeClientCertificate(options: ClientCertificateOptions): CertificateSet {
  const now = options.now ?? new Date();
  const ca = options.ca ? parseCa(options.ca) : newCa(now, DEFAULT_CA_DAYS, `${options.commonName}-ca`);
  const notAfter = servingNotAfter(now, options.days ?? DEFAULT_SERVING_DAYS, ca.cert);
  return issue(ca, { commonName: options.commonName, notBefore: now, notAfter }, [{ name: 'extKeyUsage', clientAuth: true }]);
}

/**
 * Writes `ca.crt`, `ca.key`, `tls.crt` and `tls.key` into `dir` (created if missing; keys mode 0600),
 * reusing the CA already there unless `newCa` is set.
 */
export function writeCertificates(dir: string, options: WriteOptions = {}): WrittenCertificates {
  const files = {
    caCert: path.resolve(dir, CERT_FILES.caCert),
    caKey: path.resolve(dir, CERT_FILES.caKey),
    cert: path.resolve(dir, CERT_FILES.cert),
    key: path.resolve(dir, CERT_FILES.key),
  };
  fs.mkdirSync(dir, { recursive: true });
  const existing = options.newCa ? undefined : readExistingCa(files.caCert, files.caKey);
  const set = makeCertificates({ ...options, ca: existing });
  if (!existing) {
    writeFileAtomic(files.caKey, set.caKey, 0o600);
    writeFileAtomic(files.caCert, set.caCert, 0o644);
  }
  // Key first, then cert: a watcher that looks in between sees a mismatched pair and retries.
  writeFileAtomic(files.key, set.key, 0o600);
  writeFileAtomic(files.cert, set.cert, 0o644);
  const notAfter = forge.pki.certificateFromPem(set.cert).validity.notAfter;
  return { ...set, caReused: existing !== undefined, files, notAfter };
}

/**
 * Replaces `file` in one step: the content goes to a temp file in the same folder (same filesystem,
 * so `rename` is atomic), is flushed to disk, and is then renamed over the target.
 */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, content);
    // openSync's mode is filtered by the umask; set it exactly (the umask can only remove bits anyway).
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

interface ParsedCa {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

function newCa(now: Date, days: number, name = `placement-quota-webhook-ca-${Math.floor(now.getTime() / 1000)}`): ParsedCa {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
  const subject = [
    // PrintableString: letters, digits and ' ()+,-./:=?' only; Go's x509 (the API server) rejects e.g. '@'.
    { name: 'commonName', value: name },
    { name: 'organizationName', value: 'placement-quota-webhook' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert, key: keys.privateKey };
}

function parseCa(pair: PemPair): ParsedCa {
  const cert = forge.pki.certificateFromPem(pair.cert);
  const key = forge.pki.privateKeyFromPem(pair.key);
  const publicKey = cert.publicKey as forge.pki.rsa.PublicKey;
  if (publicKey.n.compareTo(key.n) !== 0) throw new Error('the CA key does not match the CA certificate');
  const basic = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (!basic?.cA) throw new Error('the CA certificate is not a CA (basicConstraints cA is not set)');
  return { cert, key };
}

/** The CA already in the folder, when both halves are there; half a CA is an error, not a reason to replace it. */
function readExistingCa(certFile: string, keyFile: string): PemPair | undefined {
  const hasCert = fs.existsSync(certFile);
  const hasKey = fs.existsSync(keyFile);
  if (!hasCert && !hasKey) return undefined;
  if (!hasCert || !hasKey) {
    throw new Error(`found ${hasCert ? certFile : keyFile} without ${hasCert ? keyFile : certFile}; restore it or make a new CA (--new-ca)`);
  }
  const pair = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  try {
    parseCa(pair);
  } catch (err) {
    throw new Error(`cannot reuse the CA in ${certFile}: ${(err as Error).message}; make a new one with --new-ca`, { cause: err });
  }
  return pair;
}

/** A serving cert outliving its CA would fail verification after the CA expires, so it stops there. */
function servingNotAfter(now: Date, days: number, caCert: forge.pki.Certificate): Date {
  const caNotAfter = caCert.validity.notAfter;
  if (caNotAfter.getTime() - now.getTime() < DAY_MS) {
    throw new Error(`the CA expires at ${caNotAfter.toISOString()}; make a new one with --new-ca`);
  }
  return new Date(Math.min(now.getTime() + days * DAY_MS, caNotAfter.getTime()));
}

function altNames(options: CertificateOptions): object[] {
  const dns = unique([...DEFAULT_DNS_NAMES, ...(options.dnsNames ?? [])]);
  const ips = unique([...DEFAULT_IP_ADDRESSES, ...(options.ipAddresses ?? [])]);
  for (const ip of ips) {
    if (net.isIP(ip) === 0) throw new Error(`not an IP address: ${ip}`);
  }
  return [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * 16 random bytes, positive and minimally encoded: Go's x509 parser (the API server's) rejects a
 * negative serial or a leading zero byte.
 */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString('hex');
}
