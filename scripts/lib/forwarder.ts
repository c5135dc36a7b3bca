/**
 * A round-robin TCP forwarder: the API server calls one URL per webhook, so two local replicas sit
 * behind this. It forwards bytes (TLS passes through untouched, each replica serves its own cert).
 */
import { connect, createServer, type Server } from 'node:net';

export function startForwarder(listenPort: number, targets: readonly number[]): Server {
  let next = 0;
  const server = createServer((client) => {
    const port = targets[next % targets.length] ?? targets[0] ?? 0;
    next += 1;
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  server.listen(listenPort, '127.0.0.1');
  return server;
}
