/**
 * The load generator of bench/admission-https.ts, run in its own process (child_process.fork, IPC):
 * `concurrency` keep-alive HTTP/1.1 connections per server, each posting the next body as soon as its
 * previous answer is in (closed loop), for a fixed time. It reports every latency and the CPU it used
 * itself, so the parent can tell whether the client or the server was the limit.
 *
 * It speaks HTTP/1.1 on node:tls sockets itself, with each request serialized once up front: the
 * node:https client costs about as much CPU per request as a bare node:https server (measured ~80 vs
 * ~70 µs), so it would have been the limit of the bare floor on two cores.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';

export interface InitCommand {
  readonly type: 'init';
  readonly ca: string;
  readonly path: string;
  readonly bodies: readonly string[];
  readonly concurrency: number;
}
export interface LoadCommand {
  readonly type: 'load';
  readonly port: number;
  readonly ms: number;
}
export type Command = InitCommand | LoadCommand | { readonly type: 'exit' };

export interface LoadReport {
  readonly type: 'report';
  readonly requests: number;
  readonly errors: number;
  /** Answers that said `"allowed":true`. */
  readonly allowed: number;
  readonly latenciesUs: number[];
  readonly wallMs: number;
  /** User + system CPU this process spent during the run. */
  readonly cpuMs: number;
  readonly firstError?: string;
}

let init: InitCommand | undefined;
let requests: Buffer[] = [];
let next = 0;
const pools = new Map<number, Connection[]>();

interface Answer {
  readonly status: number;
  readonly body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection, one request at a time; answers must carry content-length. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;

  constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const fail = (error: Error): void => {
      this.waiting?.reject(error);
      this.waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  request(bytes: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.buffer.toString('latin1', 0, headerEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) return void this.socket.destroy(new Error(`answer without content-length: ${head}`));
    const end = headerEnd + HEADER_END.length + Number(length);
    if (this.buffer.length < end) return;
    const answer = { status: Number(head.slice(9, 12)), body: this.buffer.toString('utf8', headerEnd + HEADER_END.length, end) };
    this.buffer = this.buffer.subarray(end);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(answer);
  }
}

async function connect(port: number, ca: string): Promise<Connection> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca });
  await once(socket, 'secureConnect');
  socket.setNoDelay(true);
  return new Connection(socket);
}

async function poolFor(port: number, settings: InitCommand): Promise<Connection[]> {
  let pool = pools.get(port);
  if (!pool) {
    pool = await Promise.all(Array.from({ length: settings.concurrency }, () => connect(port, settings.ca)));
    pools.set(port, pool);
  }
  return pool;
}

/** The whole request, serialized once. */
function serialize(path: string, body: string): Buffer {
  const payload = Buffer.from(body);
  const head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

async function load(command: LoadCommand, settings: InitCommand): Promise<LoadReport> {
  const pool = await poolFor(command.port, settings);
  const latenciesUs: number[] = [];
  let done = 0;
  let errors = 0;
  let allowed = 0;
  let firstError: string | undefined;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + command.ms;
  const drive = async (connection: Connection): Promise<void> => {
    while (performance.now() < end && !connection.socket.destroyed) {
      const bytes = requests[next++ % requests.length] as Buffer;
      const sent = performance.now();
      try {
        const answer = await connection.request(bytes);
        if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body}`);
        latenciesUs.push((performance.now() - sent) * 1000);
        done += 1;
        if (answer.body.includes('"allowed":true')) allowed += 1;
      } catch (error) {
        errors += 1;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(pool.map(drive));
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { type: 'report', requests: done, errors, allowed, latenciesUs, wallMs, cpuMs: (used.user + used.system) / 1000, ...(firstError ? { firstError } : {}) };
}

process.on('message', (command: Command) => {
  if (command.type === 'init') {
    init = command;
    requests = command.bodies.map((body) => serialize(command.path, body));
  } else if (command.type === 'load' && init) {
    load(command, init).then(
      (report) => process.send?.(report),
      (error: unknown) => process.send?.({ type: 'report', requests: 0, errors: 1, allowed: 0, latenciesUs: [], wallMs: 0, cpuMs: 0, firstError: String(error) }),
    );
  } else {
    for (const pool of pools.values()) for (const connection of pool) connection.socket.destroy();
    process.exit(0);
  }
});
