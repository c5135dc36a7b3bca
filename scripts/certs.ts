/**
 * Makes the webhook's CA and serving certificate:
 *
 *   npx tsx scripts/certs.ts [--dir certs] [--dns name ...] [--ip 127.0.0.1 ...] [--days N] [--new-ca]
 *
 * A CA already in the folder is reused (only the serving certificate is renewed), so a caBundle that is
 * already registered with the API server stays valid. See docs/operations.md.
 */
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { writeCertificates } from './lib/certs.js';

const USAGE = `usage: tsx scripts/certs.ts [--dir certs] [--dns name ...] [--ip address ...] [--days N] [--new-ca]

  --dir      folder for ca.crt, ca.key, tls.crt, tls.key (default: certs)
  --dns      extra DNS name in the serving certificate (repeatable)
  --ip       extra IP address in the serving certificate (repeatable)
  --days     validity of the serving certificate in days (default: 365)
  --new-ca   make a new CA even if the folder has one (re-register the caBundle afterwards)`;

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: 'certs' },
      dns: { type: 'string', multiple: true, default: [] },
      ip: { type: 'string', multiple: true, default: [] },
      days: { type: 'string' },
      'new-ca': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const days = values.days === undefined ? undefined : Number(values.days);
  const written = writeCertificates(values.dir, { dnsNames: values.dns, ipAddresses: values.ip, days, newCa: values['new-ca'] });
  console.log(`${written.caReused ? 'reused CA' : 'new CA   '} ${written.files.caCert} (sha256 ${fingerprint(written.caCert)})`);
  console.log(`serving   ${written.files.cert} (sha256 ${fingerprint(written.cert)}), valid until ${written.notAfter.toISOString()}`);
  console.log(`keys      ${written.files.caKey}, ${written.files.key} (mode 0600)`);
  if (!written.caReused) console.log('the CA is new: update caBundle in the ValidatingWebhookConfiguration');
  return 0;
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(`certs: ${(err as Error).message}\n\n${USAGE}`);
  process.exitCode = 2;
}
