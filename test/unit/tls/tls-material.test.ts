import { X509Certificate } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { makeCertificates, writeCertificates, writeFileAtomic, type CertificateSet } from '../../../scripts/lib/certs.js';
import { loadTlsMaterial, TlsMaterialError, watchTlsMaterial, type TlsMaterial, type TlsWatcher, type TlsWatchLog } from '../../../src/ops/tls.js';

// Real files, real watches and RSA keys: a generous limit for a loaded machine. Nothing here asserts speed.
jest.setTimeout(30_000);

const quietLog = { debug: () => {}, warn: () => {} };

/** Made once: RSA key generation is the slow part of these tests. */
let a: CertificateSet;
let b: CertificateSet;
let c: CertificateSet;
beforeAll(() => {
  [a, b, c] = [makeCertificates(), makeCertificates(), makeCertificates()];
});

/** Key first, then certificate, each atomically: what scripts/certs.ts does. */
function writePair(pair: { cert: string; key: string }): void {
  writeFileAtomic(keyFile, pair.key, 0o600);
  writeFileAtomic(certFile, pair.cert, 0o644);
}

let dir: string;
let certFile: string;
let keyFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-tls-'));
  certFile = path.join(dir, 'tls.crt');
  keyFile = path.join(dir, 'tls.key');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<TlsMaterialError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TlsMaterialError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('loadTlsMaterial', () => {
  it('loads a matching pair and describes it', async () => {
    writePair(a);
    const material = await loadTlsMaterial(certFile, keyFile);
    expect(material).toMatchObject({ cert: a.cert, key: a.key, certFile, keyFile });
    expect(material.fingerprint256).toBe(new X509Certificate(a.cert).fingerprint256);
    expect(material.notAfter).toEqual(new Date(new X509Certificate(a.cert).validTo));
    expect(material.subjectAltName).toContain('DNS:placement-quota-webhook.placement-quota-system.svc');
  });

  it('names the missing file', async () => {
    writePair(a);
    fs.rmSync(keyFile);
    const err = await rejection(loadTlsMaterial(certFile, keyFile));
    expect(err).toMatchObject({ code: 'TLS_FILE_UNREADABLE', file: keyFile });
    expect(err.message).toBe(`cannot read TLS private key ${keyFile} (ENOENT)`);
  });

  it('names a half-written certificate', async () => {
    writePair(a);
    fs.writeFileSync(certFile, a.cert.slice(0, a.cert.length / 2));
    const err = await rejection(loadTlsMaterial(certFile, keyFile));
    expect(err).toMatchObject({ code: 'TLS_CERT_INVALID', file: certFile });
    expect(err.message).toContain(`TLS certificate ${certFile} is not a PEM certificate`);
  });

  it('names a file that holds no key', async () => {
    writePair(a);
    fs.writeFileSync(keyFile, '');
    const err = await rejection(loadTlsMaterial(certFile, keyFile));
    expect(err).toMatchObject({ code: 'TLS_KEY_INVALID', file: keyFile });
  });

  it('refuses a key that belongs to another certificate, naming both files', async () => {
    writePair(a);
    fs.writeFileSync(keyFile, b.key);
    const err = await rejection(loadTlsMaterial(certFile, keyFile));
    expect(err).toMatchObject({ code: 'TLS_KEY_MISMATCH', file: keyFile });
    expect(err.message).toBe(`TLS private key ${keyFile} does not belong to the certificate in ${certFile}`);
  });
});

describe('loadTlsMaterial with a client CA', () => {
  const clientCaFile = (): string => path.join(dir, 'client-ca.crt');

  it('loads a bundle of CA certificates as read', async () => {
    writePair(a);
    const bundle = `${b.caCert}${c.caCert}`;
    writeFileAtomic(clientCaFile(), bundle, 0o644);
    expect(await loadTlsMaterial(certFile, keyFile, clientCaFile())).toMatchObject({ clientCa: bundle, clientCaFile: clientCaFile() });
  });

  it.each([
    { what: 'an empty file', content: () => '', message: /holds no PEM certificate/ },
    { what: 'a half-written certificate', content: () => b.caCert.slice(0, 400), message: /holds no PEM certificate/ },
    { what: 'a leaf certificate, not a CA', content: () => `${b.caCert}${b.cert}`, message: /holds a certificate that is not a CA: CN=placement-quota-webhook/ },
  ])('refuses $what, naming the file', async ({ content, message }) => {
    writePair(a);
    writeFileAtomic(clientCaFile(), content(), 0o644);
    const err = await rejection(loadTlsMaterial(certFile, keyFile, clientCaFile()));
    expect(err).toMatchObject({ code: 'TLS_CLIENT_CA_INVALID', file: clientCaFile() });
    expect(err.message).toMatch(message);
    expect(err.message).toContain(clientCaFile());
  });

  it('names a missing client CA file', async () => {
    writePair(a);
    expect(await rejection(loadTlsMaterial(certFile, keyFile, clientCaFile()))).toMatchObject({ code: 'TLS_FILE_UNREADABLE', file: clientCaFile() });
  });
});

describe('watchTlsMaterial', () => {
  let watcher: TlsWatcher | undefined;
  afterEach(() => watcher?.close());

  /** Callbacks become events, so the test awaits them with `once` and asserts outside any callback. */
  function watch(options: { pollMs?: number; fsWatch?: boolean; current?: TlsMaterial; log?: TlsWatchLog } = {}) {
    const events = new EventEmitter();
    const changes: TlsMaterial[] = [];
    const errors: Error[] = [];
    watcher = watchTlsMaterial({
      certFile,
      keyFile,
      log: quietLog,
      retryMs: 50,
      ...options,
      onChange: (material) => {
        changes.push(material);
        events.emit('change', material);
      },
      onError: (err) => {
        errors.push(err);
        events.emit('failed', err);
      },
    });
    return { events, changes, errors };
  }

  it('reports new certificates written with rename (the inode changes)', async () => {
    writePair(a);
    const current = await loadTlsMaterial(certFile, keyFile);
    const { events } = watch({ current });
    const renewed = writeCertificates(dir, { newCa: true });
    const [material] = (await once(events, 'change')) as [TlsMaterial];
    expect(material.cert).toBe(renewed.cert);
    expect(material.key).toBe(renewed.key);
    expect(material.fingerprint256).toBe(new X509Certificate(renewed.cert).fingerprint256);
  });

  it('follows a Kubernetes Secret volume update (the ..data symlink is swapped)', async () => {
    const [first, second] = [a, b];
    const version = (name: string, pair: { cert: string; key: string }): void => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'tls.crt'), pair.cert);
      fs.writeFileSync(path.join(dir, name, 'tls.key'), pair.key);
    };
    version('..2026_03_01_12_00_00.1', first);
    fs.symlinkSync('..2026_03_01_12_00_00.1', path.join(dir, '..data'));
    fs.symlinkSync('..data/tls.crt', certFile);
    fs.symlinkSync('..data/tls.key', keyFile);
    const { events } = watch({ current: await loadTlsMaterial(certFile, keyFile) });

    // What the kubelet's atomic writer does: new folder, new symlink, rename it over ..data.
    version('..2026_03_01_13_00_00.2', second);
    fs.symlinkSync('..2026_03_01_13_00_00.2', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));

    const [material] = (await once(events, 'change')) as [TlsMaterial];
    expect(material.cert).toBe(second.cert);
  });

  it('reports a mismatched pair once, keeps retrying, and applies the pair once it matches', async () => {
    writePair(a);
    const { events, changes, errors } = watch({ current: await loadTlsMaterial(certFile, keyFile) });
    const next = b;

    writeFileAtomic(keyFile, next.key, 0o600);
    const [err] = (await once(events, 'failed')) as [TlsMaterialError];
    expect(err.code).toBe('TLS_KEY_MISMATCH');
    // Several retries (50 ms apart) of the same broken state: still one report, nothing applied.
    await sleep(300);
    expect(errors).toHaveLength(1);
    expect(changes).toHaveLength(0);

    writeFileAtomic(certFile, next.cert, 0o644);
    const [material] = (await once(events, 'change')) as [TlsMaterial];
    expect(material.cert).toBe(next.cert);
    expect(changes).toHaveLength(1);
  });

  it('ignores events that leave the pair as it was (another file in the folder changed)', async () => {
    writePair(a);
    const { events, changes } = watch({ current: await loadTlsMaterial(certFile, keyFile) });
    fs.writeFileSync(path.join(dir, 'unrelated.txt'), 'x');
    fs.utimesSync(certFile, new Date(), new Date());
    const next = b;
    // A change made after the noise proves the noise was read and let go.
    writePair(next);
    await once(events, 'change');
    expect(changes.map((m) => m.cert)).toEqual([next.cert]);
  });

  it('without `current`, takes the files at start as the baseline', async () => {
    writePair(a);
    const started = new EventEmitter();
    const log = { ...quietLog, debug: (_fields: object, message: string) => started.emit(message) };
    const { events, changes } = watch({ log });
    await once(started, 'watching TLS material');
    const renewed = b;
    writePair(renewed);
    await once(events, 'change');
    expect(changes.map((m) => m.cert)).toEqual([renewed.cert]);
  });

  it('finds a change by polling mtimes when fs.watch reports nothing', async () => {
    writePair(a);
    const { events } = watch({ fsWatch: false, pollMs: 50, current: await loadTlsMaterial(certFile, keyFile) });
    const renewed = b;
    writePair(renewed);
    const [material] = (await once(events, 'change')) as [TlsMaterial];
    expect(material.cert).toBe(renewed.cert);
  });

  it('reports a pair the consumer refuses through onError, and offers it again after a rewrite', async () => {
    writePair(a);
    const events = new EventEmitter();
    let refuse = true;
    watcher = watchTlsMaterial({
      certFile,
      keyFile,
      log: quietLog,
      current: await loadTlsMaterial(certFile, keyFile),
      onChange: (material) => {
        if (refuse) throw new Error('cannot build a secure context');
        events.emit('change', material);
      },
      onError: (err) => events.emit('failed', err),
    });
    const renewed = b;
    writePair(renewed);
    const [err] = (await once(events, 'failed')) as [Error];
    expect(err.message).toBe('cannot build a secure context');

    refuse = false;
    fs.utimesSync(certFile, new Date(), new Date(Date.now() + 1000));
    const [material] = (await once(events, 'change')) as [TlsMaterial];
    expect(material.cert).toBe(renewed.cert);
  });

  it('reports nothing after close', async () => {
    writePair(a);
    const { changes, errors } = watch({ pollMs: 20, current: await loadTlsMaterial(certFile, keyFile) });
    watcher?.close();
    writePair(c);
    fs.writeFileSync(keyFile, 'broken');
    await sleep(300);
    expect(changes).toHaveLength(0);
    expect(errors).toHaveLength(0);
  });
});
