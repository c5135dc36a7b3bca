import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import forge from 'node-forge';
import { DEFAULT_DNS_NAMES, makeCertificates, writeCertificates, writeFileAtomic } from '../../../scripts/lib/certs.js';

// RSA key generation takes up to a second each on a slow machine; nothing here asserts speed.
jest.setTimeout(30_000);

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-03-01T12:00:00Z');

/** forge's view of one extension, for what node's X509Certificate does not expose (key usage bits). */
function extension(pem: string, name: string): Record<string, unknown> | null {
  return forge.pki.certificateFromPem(pem).getExtension(name) as Record<string, unknown> | null;
}

describe('makeCertificates', () => {
  const set = makeCertificates({ now: NOW });
  const ca = new X509Certificate(set.caCert);
  const serving = new X509Certificate(set.cert);
  /** Signing with the same CA saves a key generation per test. */
  const sameCa = { cert: set.caCert, key: set.caKey };

  it('makes a self-signed CA that may sign certificates', () => {
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(extension(set.caCert, 'basicConstraints')).toMatchObject({ cA: true, critical: true });
    expect(extension(set.caCert, 'keyUsage')).toMatchObject({ keyCertSign: true, critical: true });
    expect(ca.checkPrivateKey(createPrivateKey(set.caKey))).toBe(true);
  });

  it('makes an RSA 2048 serving certificate for server auth, signed by that CA', () => {
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.keyUsage).toContain(SERVER_AUTH);
    expect(serving.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(serving.checkPrivateKey(createPrivateKey(set.key))).toBe(true);
    expect(extension(set.cert, 'keyUsage')).toMatchObject({ digitalSignature: true, keyEncipherment: true });
  });

  it.each([...DEFAULT_DNS_NAMES])('names %s', (name) => {
    expect(serving.checkHost(name, { subject: 'never', wildcards: false })).toBe(name);
  });

  it('names 127.0.0.1 as an IP address, not as a DNS name', () => {
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serving.subjectAltName).toContain('IP Address:127.0.0.1');
  });

  it('adds the extra DNS names and IP addresses it is given, IPv6 too', () => {
    const extra = new X509Certificate(
      makeCertificates({ now: NOW, ca: sameCa, dnsNames: ['webhook.example.test'], ipAddresses: ['10.0.0.7', '::1'] }).cert,
    );
    expect(extra.checkHost('webhook.example.test')).toBe('webhook.example.test');
    expect(extra.checkHost('localhost')).toBe('localhost');
    expect(extra.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(extra.checkIP('::1')).toBe('::1');
  });

  it.each([
    ['a malformed IP address', { ipAddresses: ['10.0.0'] }, 'not an IP address: 10.0.0'],
    ['zero days', { days: 0 }, 'days must be a whole number >= 1, got 0'],
    ['days that are not a number (--days x)', { days: Number.NaN }, 'days must be a whole number >= 1, got NaN'],
    ['fractional CA days', { caDays: 1.5 }, 'caDays must be a whole number >= 1, got 1.5'],
  ])('refuses %s before generating any key', (_what, options, message) => {
    expect(() => makeCertificates(options)).toThrow(message);
  });

  it('backdates a little for clock skew and lasts the given days', () => {
    const short = new X509Certificate(makeCertificates({ now: NOW, ca: sameCa, days: 30 }).cert);
    expect(new Date(short.validFrom).getTime()).toBeLessThan(NOW.getTime());
    expect(new Date(short.validTo).getTime()).toBe(NOW.getTime() + 30 * DAY_MS);
  });

  it('never outlives the CA that signs it', () => {
    const shortCa = makeCertificates({ now: NOW, caDays: 10 });
    const renewed = makeCertificates({ now: NOW, days: 365, ca: { cert: shortCa.caCert, key: shortCa.caKey } });
    expect(new X509Certificate(renewed.cert).validTo).toBe(new X509Certificate(shortCa.caCert).validTo);
  });

  it('refuses a CA key that is not the CA certificate’s', () => {
    const other = makeCertificates({ now: NOW, caDays: 30 });
    expect(() => makeCertificates({ ca: { cert: set.caCert, key: other.caKey } })).toThrow('does not match');
    expect(() => makeCertificates({ ca: { cert: other.cert, key: other.key } })).toThrow('is not a CA');
  });

  it('gives every certificate its own positive serial', () => {
    const serials = [ca.serialNumber, serving.serialNumber, new X509Certificate(makeCertificates({ ca: sameCa }).cert).serialNumber];
    expect(new Set(serials).size).toBe(3);
    for (const serial of serials) expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
  });
});

describe('writeCertificates', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-certs-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const mode = (file: string): number => fs.statSync(path.join(dir, file)).mode & 0o777;

  it('writes the four files, keys readable by the owner only, and no temp files', () => {
    const out = path.join(dir, 'nested', 'certs');
    const written = writeCertificates(out);
    expect(fs.readdirSync(out).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(fs.readFileSync(written.files.cert, 'utf8')).toBe(written.cert);
    expect(fs.statSync(written.files.key).mode & 0o777).toBe(0o600);
    expect(fs.statSync(written.files.caKey).mode & 0o777).toBe(0o600);
    expect(fs.statSync(written.files.cert).mode & 0o777).toBe(0o644);
    expect(written.caReused).toBe(false);
  });

  it('reuses the CA already there, so a registered caBundle stays valid', () => {
    const first = writeCertificates(dir);
    const second = writeCertificates(dir);
    expect(second.caReused).toBe(true);
    expect(second.caCert).toBe(first.caCert);
    expect(fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe(first.caCert);
    expect(second.cert).not.toBe(first.cert);
    expect(new X509Certificate(second.cert).verify(new X509Certificate(first.caCert).publicKey)).toBe(true);
    expect(mode('tls.key')).toBe(0o600);
  });

  it('makes a new CA when asked', () => {
    const first = writeCertificates(dir);
    const second = writeCertificates(dir, { newCa: true });
    expect(second.caReused).toBe(false);
    expect(second.caCert).not.toBe(first.caCert);
    expect(fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe(second.caCert);
  });

  it('refuses half a CA rather than silently replacing it', () => {
    writeCertificates(dir);
    fs.rmSync(path.join(dir, 'ca.key'));
    expect(() => writeCertificates(dir)).toThrow(`found ${path.join(dir, 'ca.crt')} without ${path.join(dir, 'ca.key')}`);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file with a new inode rather than rewriting it in place', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-atomic-'));
    try {
      const file = path.join(dir, 'tls.crt');
      fs.writeFileSync(file, 'old');
      const before = fs.statSync(file).ino;
      writeFileAtomic(file, 'new', 0o600);
      expect(fs.readFileSync(file, 'utf8')).toBe('new');
      expect(fs.statSync(file).ino).not.toBe(before);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(dir)).toEqual(['tls.crt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
