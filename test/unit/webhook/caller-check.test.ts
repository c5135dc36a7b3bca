/**
 * The caller check reads the peer certificate once per connection: a certificate cannot change on
 * a TLS connection, and reading it was the largest single cost of a review.
 */
import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { callerCheck } from '../../../src/webhook/caller-auth.js';

function connection(peer: object, authorized = true) {
  let reads = 0;
  const socket = {
    authorized,
    authorizationError: authorized ? undefined : 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    getPeerCertificate: () => {
      reads += 1;
      return peer;
    },
  };
  return { request: () => ({ socket }) as unknown as IncomingMessage, reads: () => reads };
}

describe('callerCheck', () => {
  it.each([
    ['a verified certificate with an allowed name', { subject: { CN: 'kube-apiserver' } }, true, undefined],
    ['no certificate', {}, true, 'no client certificate'],
    ['a certificate the client CA did not sign', { subject: { CN: 'kube-apiserver' } }, false, 'client certificate not verified against the client CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)'],
    ['a name not allowed', { subject: { CN: 'someone' } }, true, 'client certificate names ["someone"] are not among tls.clientNames'],
  ])('%s: judged once per connection, the same verdict for every request on it', (_what, peer, authorized, refusal) => {
    const check = callerCheck({ names: ['kube-apiserver'] });
    const conn = connection(peer, authorized);
    expect([check(conn.request()), check(conn.request()), check(conn.request())]).toEqual([refusal, refusal, refusal]);
    expect(conn.reads()).toBe(1);
  });

  it('judges each connection on its own', () => {
    const check = callerCheck({});
    const [a, b] = [connection({ subject: { CN: 'x' } }), connection({})];
    expect([check(a.request()), check(b.request())]).toEqual([undefined, 'no client certificate']);
    expect([a.reads(), b.reads()]).toEqual([1, 1]);
  });
});
