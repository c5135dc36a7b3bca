import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { checkCaBundle, DEFAULT_WEBHOOK_FILE, setCaBundle, tlsSecretManifest } from '../../../scripts/ca-bundle.js';
import { makeCertificates } from '../../../scripts/lib/certs.js';
import { VALIDATE_PATH, webhookConfiguration } from '../../../scripts/lib/webhook-registration.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const certs = makeCertificates({ now: NOW });
const other = makeCertificates({ now: NOW });
const manifest = readFileSync(DEFAULT_WEBHOOK_FILE, 'utf8');
const bundle = Buffer.from(certs.caCert).toString('base64');

const lines = (text: string): string[] => text.split('\n');

describe('setCaBundle', () => {
  const updated = setCaBundle(manifest, certs.caCert);

  it('changes the caBundle line of the shipped manifest and nothing else (comments included)', () => {
    const changed = lines(updated).filter((line, i) => line !== lines(manifest)[i]);
    expect(lines(updated)).toHaveLength(lines(manifest).length);
    expect(changed).toEqual([`      caBundle: "${bundle}"`]);
  });

  it('is idempotent, and a new CA replaces the old bundle', () => {
    expect(setCaBundle(updated, certs.caCert)).toBe(updated);
    const replaced = parse(setCaBundle(updated, other.caCert)) as { webhooks: { clientConfig: { caBundle: string } }[] };
    expect(Buffer.from(replaced.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString()).toBe(other.caCert);
  });

  it('the shipped manifest is what scripts/lib/webhook-registration.ts registers for the in-cluster Service', () => {
    const expected = webhookConfiguration(certs.caCert, {
      service: { namespace: 'placement-quota-system', name: 'placement-quota-webhook', path: VALIDATE_PATH, port: 443 },
    });
    expect(parse(updated)).toEqual(expected);
  });

  it('sets every webhook of every ValidatingWebhookConfiguration, leaving other documents alone', () => {
    const text = [
      '# a Service first',
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: s}',
      '---',
      'apiVersion: admissionregistration.k8s.io/v1',
      'kind: ValidatingWebhookConfiguration',
      'metadata: {name: v}',
      'webhooks:',
      '  - name: a.example.com',
      '    clientConfig: {url: "https://a.example.com"}',
      '  - name: b.example.com',
      '    clientConfig:',
      '      url: https://b.example.com',
      '      caBundle: b2xk # old',
      '',
    ].join('\n');
    const result = setCaBundle(text, certs.caCert);
    const [service, vwc] = parseAllDocuments(result).map((doc) => doc.toJS() as Record<string, unknown>);
    expect(service).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } });
    expect(vwc?.webhooks).toEqual([
      { name: 'a.example.com', clientConfig: { url: 'https://a.example.com', caBundle: bundle } },
      { name: 'b.example.com', clientConfig: { url: 'https://b.example.com', caBundle: bundle } },
    ]);
    expect(result).toContain('# a Service first\n');
    expect(result).toContain(`caBundle: ${bundle} # old\n`);
  });

  it.each([
    ['no ValidatingWebhookConfiguration', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n', 'no ValidatingWebhookConfiguration in the file'],
    ['an empty file', '', 'the file is empty'],
    ['no webhooks', 'kind: ValidatingWebhookConfiguration\nwebhooks: []\n', 'has no webhooks'],
    ['a webhook without clientConfig', 'kind: ValidatingWebhookConfiguration\nwebhooks: [{name: a}]\n', 'webhooks[0] has no clientConfig'],
    ['broken YAML', 'kind: ValidatingWebhookConfiguration\nwebhooks: [\n', 'not valid YAML'],
  ])('refuses %s', (_title, text, message) => {
    expect(() => setCaBundle(text, certs.caCert)).toThrow(message);
  });
});

describe('checkCaBundle', () => {
  it('accepts the CA and refuses the serving certificate, nothing, and an expired CA', () => {
    expect(() => checkCaBundle(certs.caCert, NOW)).not.toThrow();
    expect(() => checkCaBundle(certs.cert, NOW)).toThrow('is not a CA certificate (did you pass tls.crt?)');
    expect(() => checkCaBundle('', NOW)).toThrow('no PEM certificate');
    expect(() => checkCaBundle(certs.caCert, new Date('2040-01-01T00:00:00Z'))).toThrow('expired');
  });
});

describe('tlsSecretManifest', () => {
  it('is a kubernetes.io/tls Secret with the serving certificate and key, for the Deployment', () => {
    const secret = parse(tlsSecretManifest(certs.cert, certs.key, { caPem: certs.caCert })) as {
      metadata: { name: string; namespace: string };
      type: string;
      data: Record<string, string>;
    };
    expect({ ...secret.metadata, type: secret.type, keys: Object.keys(secret.data) }).toMatchObject({
      name: 'placement-quota-webhook-tls',
      namespace: 'placement-quota-system',
      type: 'kubernetes.io/tls',
      keys: ['tls.crt', 'tls.key'],
    });
    expect(Buffer.from(secret.data['tls.crt'] ?? '', 'base64').toString()).toBe(certs.cert);
    expect(Buffer.from(secret.data['tls.key'] ?? '', 'base64').toString()).toBe(certs.key);
  });

  it('refuses a key of another certificate, and a certificate another CA signed', () => {
    expect(() => tlsSecretManifest(certs.cert, other.key)).toThrow('the key does not belong to the certificate');
    expect(() => tlsSecretManifest(certs.cert, certs.key, { caPem: other.caCert })).toThrow('not signed by the CA');
  });
});
