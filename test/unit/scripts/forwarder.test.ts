import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { startForwarder } from '../../../scripts/lib/forwarder.js';
import { freePort } from '../../../scripts/lib/webhook-processes.js';

const servers: Server[] = [];

/** A replica stand-in: answers every connection's first chunk with `<name>:<chunk>`. */
async function replica(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.once('data', (chunk) => socket.end(`${name}:${String(chunk)}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port };
}

async function forwarder(targets: number[]): Promise<number> {
  const port = await freePort();
  const server = startForwarder(port, targets);
  await once(server, 'listening');
  servers.push(server);
  return port;
}

/** Sends `text` at once (before the upstream is known) and resolves with the whole answer ('' when cut off). */
async function ask(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(text);
  let answer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => undefined);
  await once(socket, 'close');
  return answer;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('the round-robin forwarder', () => {
  it('takes turns between the replicas, bytes unchanged', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const port = await forwarder([a.port, b.port]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(port, `hello ${i}`));
    expect(answers).toEqual(['a:hello 0', 'b:hello 1', 'a:hello 2', 'b:hello 3']);
  });

  it('offers a connection a replica refuses (stopped listening: shutting down or not yet restarted) to the next one', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const port = await forwarder([a.port, b.port]);
    await new Promise((resolve) => a.server.close(resolve));
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(port, `hi ${i}`));
    // The first bytes were sent before the forwarder knew a refused them: they reached b whole.
    expect(answers).toEqual(['b:hi 0', 'b:hi 1', 'b:hi 2', 'b:hi 3']);
  });

  it('cuts the client off when every replica refuses', async () => {
    const dead = [await freePort(), await freePort()];
    const port = await forwarder(dead);
    expect(await ask(port, 'anyone?')).toBe('');
  });
});
