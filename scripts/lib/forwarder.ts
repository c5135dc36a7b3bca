/**
 * A round-robin TCP forwarder: the API server calls one URL per webhook, so two local replicas sit
 * behind this. It forwards bytes (TLS passes through untouched, each replica serves its own cert).
 *
 * A replica that is shutting down stops listening at once (it drains the connections it has), and a
 * restarted one listens again only after its start: a new connection to either is refused. Nothing
 * has been forwarded yet at that point (the client's first bytes wait, paused, until the upstream
 * connects), so the connection is offered to the next replica instead, as a Service's endpoints drop
 * a terminating pod. Only when every replica refuses is the client cut off.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export function startForwarder(listenPort: number, targets: readonly number[], host = '127.0.0.1'): Server {
  let next = 0;
  const server = createServer((client) => {
    client.pause();
    const first = next;
    next += 1;
    let gone = false;
    client.on('error', () => {
      gone = true;
      client.destroy();
    });
    client.on('close', () => {
      gone = true;
    });
    const attempt = (tried: number): void => {
      if (gone) return;
      if (tried >= targets.length) return void client.destroy();
      const port = targets[(first + tried) % targets.length] as number;
      const upstream: Socket = connect(port, host);
      const refused = (): void => {
        upstream.destroy();
        attempt(tried + 1);
      };
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        if (gone) return void upstream.destroy();
        const close = (): void => {
          client.destroy();
          upstream.destroy();
        };
        upstream.on('error', close);
        upstream.on('close', close);
        client.on('close', close);
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  server.listen(listenPort, host);
  return server;
}
