/**
 * A TCP forwarder on 127.0.0.1 between a client under test and the real API server, so a test can
 * break the network the way networks break — refuse, cut, or silently stall connections — while the
 * API server itself runs on untouched. TLS passes through end to end (the API server's certificate
 * names 127.0.0.1, so a kubeconfig only needs the proxy's port).
 */
import { once } from 'node:events';
import * as net from 'node:net';

export interface TcpProxy {
  /** `https://127.0.0.1:<port>`: the server to put in a kubeconfig. */
  readonly url: string;
  /** Connections forwarded now that were opened at least `ms` ago (long-lived ones: watches, not lists). */
  openFor(ms: number): number;
  /** Forward new connections (the initial mode). */
  heal(): void;
  /** Reset new connections at once; open ones carry on. */
  refuseNew(): void;
  /** A partition: reset every open connection and refuse new ones. */
  partition(): void;
  /**
   * A silently dead peer: open connections stay open but carry no more bytes either way; new ones
   * are forwarded. Returns how many were stalled.
   */
  stallOpen(): number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  readonly since: number;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let accepting = true;
  const live = new Set<Pair>();
  const stalled = new Set<Pair>();
  const destroy = (pair: Pair): void => {
    pair.client.destroy();
    pair.upstream.destroy();
    live.delete(pair);
    stalled.delete(pair);
  };
  const server = net.createServer((client) => {
    if (!accepting) {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: net.connect(target.port, target.host), since: Date.now() };
    live.add(pair);
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
    for (const socket of [pair.client, pair.upstream]) {
      socket.on('error', () => destroy(pair));
      socket.on('close', () => destroy(pair));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    openFor: (ms) => [...live].filter((pair) => Date.now() - pair.since >= ms).length,
    heal: () => {
      accepting = true;
    },
    refuseNew: () => {
      accepting = false;
    },
    partition: () => {
      accepting = false;
      for (const pair of [...live, ...stalled]) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
        destroy(pair);
      }
    },
    stallOpen: () => {
      const count = live.size;
      for (const pair of [...live]) {
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.client.pause();
        pair.upstream.pause();
        live.delete(pair);
        stalled.add(pair);
      }
      return count;
    },
    close: async () => {
      accepting = false;
      for (const pair of [...live, ...stalled]) destroy(pair);
      server.close();
      await once(server, 'close');
    },
  };
}
