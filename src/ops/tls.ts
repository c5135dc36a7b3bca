/**
 * The webhook's serving certificate and key, and the CA that callers' client certificates must chain
 * to (`tls.clientCAFile`, optional), read from files and reloaded when they change.
 *
 * Two ways the files change in practice: `scripts/certs.ts` (and most tools) write a temp file and
 * rename it over the old one, which replaces the inode; a Kubernetes Secret volume writes a new
 * timestamped folder and swaps the `..data` symlink the visible files point through. Watching the file
 * itself loses track after the first replacement, so the folders are watched instead, with a slow mtime
 * poll behind them for filesystems where `fs.watch` says nothing (some network and overlay mounts).
 *
 * Certificate and key are two files, and they are never replaced at the same instant: between the two
 * writes the pair does not match. Such a state is reported and retried, never applied.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';

/** A validated certificate (chain) and the private key that belongs to it. */
export interface TlsMaterial {
  /** PEM, as read: the serving certificate, possibly followed by intermediates. */
  cert: string;
  /** PEM private key. */
  key: string;
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint of the serving certificate, `AB:CD:…`, for logs. */
  fingerprint256: string;
  subjectAltName: string;
  notAfter: Date;
  /**
   * PEM bundle of the CA(s) a caller's client certificate must chain to (`tls.clientCAFile`), as read;
   * absent when callers are not authenticated.
   */
  clientCa?: string;
  clientCaFile?: string;
}

/** Stable codes, so a caller can tell a missing file from a mismatched pair without parsing messages. */
export type TlsMaterialErrorCode = 'TLS_FILE_UNREADABLE' | 'TLS_CERT_INVALID' | 'TLS_KEY_INVALID' | 'TLS_KEY_MISMATCH' | 'TLS_CLIENT_CA_INVALID';

/** Raised when the files do not hold a usable certificate and key; the message names the file. */
export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
  constructor(
    readonly code: TlsMaterialErrorCode,
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Reads and validates a PEM certificate and key: both must parse and the key must be the
 * certificate's; with `clientCaFile`, also the client CA bundle (every block a CA certificate).
 * Rejects with a `TlsMaterialError` naming the file otherwise.
 */
export async function loadTlsMaterial(certFile: string, keyFile: string, clientCaFile?: string): Promise<TlsMaterial> {
  const [cert, key, clientCa] = await Promise.all([
    readPem(certFile, 'certificate'),
    readPem(keyFile, 'private key'),
    clientCaFile === undefined ? undefined : readPem(clientCaFile, 'client CA'),
  ]);
  if (clientCaFile !== undefined && clientCa !== undefined) checkClientCa(clientCa, clientCaFile);
  const x509 = parseCertificate(cert, certFile);
  const privateKey = parseKey(key, keyFile);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsMaterialError('TLS_KEY_MISMATCH', keyFile, `TLS private key ${keyFile} does not belong to the certificate in ${certFile}`);
  }
  return {
    cert,
    key,
    certFile,
    keyFile,
    fingerprint256: x509.fingerprint256,
    subjectAltName: x509.subjectAltName ?? '',
    notAfter: new Date(x509.validTo),
    ...(clientCa === undefined ? {} : { clientCa, clientCaFile }),
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * An empty or half-written bundle would make OpenSSL refuse every caller (or, worse, a leaf
 * certificate in it would be trusted as an issuer by nobody and fail just as silently), so the
 * bundle must hold at least one certificate and every one must be a CA.
 */
function checkClientCa(pem: string, file: string): void {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError('TLS_CLIENT_CA_INVALID', file, `TLS client CA ${file} holds no PEM certificate`);
  for (const block of blocks) {
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(block);
    } catch (err) {
      throw new TlsMaterialError('TLS_CLIENT_CA_INVALID', file, `TLS client CA ${file} is not a PEM certificate bundle: ${(err as Error).message}`, { cause: err });
    }
    if (!ca.ca) throw new TlsMaterialError('TLS_CLIENT_CA_INVALID', file, `TLS client CA ${file} holds a certificate that is not a CA: ${ca.subject.replace(/\n/g, ', ')}`);
  }
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new TlsMaterialError('TLS_FILE_UNREADABLE', file, `cannot read TLS ${what} ${file} (${code})`, { cause: err });
  }
}

function parseCertificate(pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsMaterialError('TLS_CERT_INVALID', file, `TLS certificate ${file} is not a PEM certificate: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function parseKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new TlsMaterialError('TLS_KEY_INVALID', file, `TLS private key ${file} is not a PEM private key: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** What the watcher logs; a pino logger fits. */
export interface TlsWatchLog {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface WatchTlsOptions {
  certFile: string;
  keyFile: string;
  /** Watched and reloaded with the serving pair; a change of it alone is a change. */
  clientCaFile?: string;
  /** Called with freshly loaded, validated material whose content differs from the last one. */
  onChange: (material: TlsMaterial) => void;
  /** Called once per broken state of the files (not once per retry); the old material stays in use. */
  onError: (err: Error) => void;
  log: TlsWatchLog;
  /** What is serving now; files that still hold it do not count as a change. Default: the files at start. */
  current?: Pick<TlsMaterial, 'cert' | 'key' | 'clientCa'>;
  /** Quiet time after the last event before reading, so both files of one update are read together. */
  debounceMs?: number;
  /** Retry delay while the files are broken (a rewrite is probably half done). */
  retryMs?: number;
  /** Fallback poll of the files' mtimes, for filesystems where fs.watch reports nothing. */
  pollMs?: number;
  /** Set false to rely on the poll alone (such filesystems, and the test of the poll). Default true. */
  fsWatch?: boolean;
}

export interface TlsWatcher {
  close(): void;
}

const DEFAULT_DEBOUNCE_MS = 100;
const DEFAULT_RETRY_MS = 1_000;
const DEFAULT_POLL_MS = 10_000;

/** Watches the certificate and key files and reports each new valid pair through `onChange`. */
export function watchTlsMaterial(options: WatchTlsOptions): TlsWatcher {
  const watcher = new MaterialWatcher(options);
  watcher.start();
  return { close: () => watcher.close() };
}

/** mtime, size and inode of both files (following symlinks): cheap to compare, changes on every rewrite. */
async function fingerprintFiles(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (file) => {
      try {
        const s = await stat(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch (err) {
        return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
      }
    }),
  );
  return parts.join('|');
}

class MaterialWatcher {
  private readonly files: readonly string[];
  private readonly dirs: readonly string[];
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private applied: Pick<TlsMaterial, 'cert' | 'key' | 'clientCa'> | undefined;
  /** Without `current`, the first read only sets the baseline; a later first success is a change. */
  private firstRead = true;
  /** File state after the last successful read, so the poll only reads when something moved. */
  private seen = '';
  /** File state whose error was already reported. */
  private reported = '';
  private debounce: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private closed = false;

  constructor(private readonly options: WatchTlsOptions) {
    this.files = [options.certFile, options.keyFile, ...(options.clientCaFile === undefined ? [] : [options.clientCaFile])];
    this.dirs = [...new Set(this.files.map((file) => path.dirname(path.resolve(file))))];
    this.applied = options.current;
  }

  start(): void {
    this.armWatches();
    this.poll = setInterval(() => this.pollTick(), this.options.pollMs ?? DEFAULT_POLL_MS).unref();
    // Without `current`, the files as they are now are the baseline; with it, a difference is a change.
    this.check();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearTimeout(this.retry);
    clearInterval(this.poll);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private watchDir(dir: string): void {
    try {
      const watcher = fs.watch(dir, { persistent: false }, () => this.schedule());
      watcher.on('error', (err) => {
        // The folder went away (volume remounted); the poll keeps going and re-arms the watch.
        this.options.log.debug({ err, dir }, 'TLS folder watch failed; relying on the poll');
        watcher.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, watcher);
    } catch (err) {
      this.options.log.debug({ err, dir }, 'cannot watch TLS folder; relying on the poll');
    }
  }

  /** Every event restarts the quiet period: a rename storm ends in one read. */
  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS).unref();
  }

  private armWatches(): void {
    if (this.options.fsWatch === false) return;
    for (const dir of this.dirs) {
      if (!this.watchers.has(dir)) this.watchDir(dir);
    }
  }

  private pollTick(): void {
    this.armWatches();
    void fingerprintFiles(this.files).then((state) => {
      if (state !== this.seen) this.schedule();
    });
  }

  /** One read at a time; an event during a read asks for one more read after it. */
  private check(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.read()
      // Only a throwing onError gets here; it must not become an unhandled rejection that ends the process.
      .catch((err: unknown) => this.options.log.warn({ err }, 'TLS watcher callback failed'))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.check();
        }
      });
  }

  private async read(): Promise<void> {
    const state = await fingerprintFiles(this.files);
    const baseline = this.firstRead && this.applied === undefined;
    this.firstRead = false;
    let material: TlsMaterial;
    try {
      material = await loadTlsMaterial(this.options.certFile, this.options.keyFile, this.options.clientCaFile);
    } catch (err) {
      // A read that overlapped a write saw no state the files were ever in: look again, report nothing.
      const raced = (await fingerprintFiles(this.files)) !== state;
      this.failed(raced ? undefined : state, err as Error);
      return;
    }
    clearTimeout(this.retry);
    this.seen = state;
    this.reported = '';
    if (this.closed) return;
    this.accept(material, baseline);
  }

  private accept(material: TlsMaterial, baseline: boolean): void {
    const applied = this.applied;
    this.applied = material;
    if (baseline) {
      this.options.log.debug({ fingerprint256: material.fingerprint256 }, 'watching TLS material');
      return;
    }
    if (applied?.cert === material.cert && applied.key === material.key && applied.clientCa === material.clientCa) return;
    this.options.log.debug({ fingerprint256: material.fingerprint256, certFile: material.certFile }, 'TLS material changed');
    try {
      this.options.onChange(material);
    } catch (err) {
      // The consumer refused it (say the server could not build a context from it): keep treating the
      // old pair as applied, so a later rewrite of the same files is tried again.
      this.applied = applied;
      this.options.onError(err as Error);
    }
  }

  private failed(state: string | undefined, err: Error): void {
    if (this.closed) return;
    if (state !== undefined && state !== this.reported) {
      this.reported = state;
      this.options.onError(err);
    }
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.check(), this.options.retryMs ?? DEFAULT_RETRY_MS).unref();
  }
}
