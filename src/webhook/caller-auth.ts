/**
 * Who may call the admission path (SPEC §8): only the API server, which authenticates with a client
 * certificate from its AdmissionConfiguration kubeconfig. The TLS layer asks every client for a
 * certificate and verifies it against the configured CA without refusing the handshake (the kubelet's
 * probes have none); this is where an unverified caller is turned away, before its body is read.
 */
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface CallerPolicy {
  /**
   * When set, the verified certificate's subject CN or one of its DNS SANs must be one of these
   * (`tls.clientNames`). Absent: any certificate the client CA signed is the API server's, which is
   * true only of a CA dedicated to it.
   */
  readonly names?: readonly string[];
}

/** Subject CN(s) and DNS SANs of a certificate: the identities a client CA vouches for. */
export function certificateNames(peer: PeerCertificate): string[] {
  const cn = (peer.subject as Partial<PeerCertificate['subject']> | undefined)?.CN;
  const cns = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  const sans = (peer.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice('DNS:'.length));
  return [...cns, ...sans];
}

const ALLOWED = Symbol('allowed');

/**
 * Why the caller of a request may not use the admission path (undefined when it may; for the log,
 * not the caller), judged once per connection: the peer certificate cannot change on a TLS
 * connection (Node refuses renegotiation by a client), and reading it (`getPeerCertificate`) was the
 * largest single cost of a review in a CPU profile. The verdicts go with their sockets.
 */
export function callerCheck(policy: CallerPolicy): (req: IncomingMessage) => string | undefined {
  const verdicts = new WeakMap<object, string | typeof ALLOWED>();
  return (req) => {
    const known = verdicts.get(req.socket);
    if (known !== undefined) return known === ALLOWED ? undefined : known;
    const refusal = refusalOf(req.socket as Partial<TLSSocket>, policy);
    verdicts.set(req.socket, refusal ?? ALLOWED);
    return refusal;
  };
}

/** The verdict on one connection's peer. */
function refusalOf(socket: Partial<TLSSocket>, policy: CallerPolicy): string | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return 'not a TLS connection';
  const peer = socket.getPeerCertificate();
  // Node hands an empty object, not null, when the client sent no certificate.
  if (Object.keys(peer).length === 0) return 'no client certificate';
  if (socket.authorized !== true) return `client certificate not verified against the client CA (${String(socket.authorizationError)})`;
  if (policy.names === undefined) return undefined;
  const names = certificateNames(peer);
  if (names.some((name) => policy.names?.includes(name))) return undefined;
  return `client certificate names ${JSON.stringify(names)} are not among tls.clientNames`;
}
