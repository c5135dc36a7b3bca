/**
 * `tsx bench/lib/noop-webhook.ts <port> <cert-dir> <client-ca-file>`: the floor of bench/strict-quota's
 * goal 2. A bare node:https server that answers every AdmissionReview `allowed: true`, with the same
 * serving certificate as the webhook and the same caller requirement (a client certificate signed by
 * the API server's webhook-client CA), so the API server reaches it exactly as it reaches the webhook.
 * It reads the body and the request uid with one JSON.parse, nothing else.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import * as path from 'node:path';

const [portText, certDir, clientCaFile] = process.argv.slice(2);
if (!portText || !certDir || !clientCaFile) {
  process.stderr.write('usage: noop-webhook.ts <port> <cert-dir> <client-ca-file>\n');
  process.exit(2);
}

const server = createServer(
  {
    cert: readFileSync(path.join(certDir, 'tls.crt')),
    key: readFileSync(path.join(certDir, 'tls.key')),
    ca: readFileSync(clientCaFile),
    requestCert: true,
    rejectUnauthorized: true,
  },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: string } };
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request?.uid ?? '', allowed: true } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  },
);
server.keepAliveTimeout = 120_000; // as the webhook (src/webhook/https-server.ts)
server.listen(Number(portText), '127.0.0.1');
