/**
 * Loads many objects into a kube-apiserver quickly: one HTTP/2 connection, many requests in flight
 * (the server multiplexes them), each body serialized once. A kubectl apply or a client-node call per
 * object costs more CPU than the API server's own work at this scale; this loader stays below it.
 */
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ApiAnswer {
  readonly status: number;
  readonly body: string;
}

/** One HTTP/2 session to the API server, authenticated with a bearer token. */
export class ApiSession {
  private constructor(
    private readonly session: ClientHttp2Session,
    private readonly token: string,
  ) {}

  static async open(server: string, ca: string | Buffer, token: string): Promise<ApiSession> {
    const session = connect(server, { ca });
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    session.on('error', () => undefined); // each request reports its own failure
    return new ApiSession(session, token);
  }

  request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<ApiAnswer> {
    return new Promise((resolve, reject) => {
      const headers = {
        [constants.HTTP2_HEADER_METHOD]: method,
        [constants.HTTP2_HEADER_PATH]: path,
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType }),
      };
      const stream = this.session.request(headers);
      let status = 0;
      let text = '';
      stream.setEncoding('utf8');
      stream.on('response', (head) => (status = Number(head[constants.HTTP2_HEADER_STATUS])));
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => resolve({ status, body: text }));
      stream.on('error', reject);
      stream.end(body);
    });
  }

  close(): void {
    this.session.close();
  }
}

const RETRIES = 8;
const retryable = (status: number): boolean => status === 429 || status >= 500;

/**
 * The request, retried with backoff while the server is busy (429, 5xx) or the stream fails; any
 * other answer is returned as it is.
 */
export async function patiently(session: ApiSession, method: string, path: string, body?: string, contentType?: string): Promise<ApiAnswer> {
  for (let attempt = 1; ; attempt++) {
    const answer = await session.request(method, path, body, contentType).catch((error: unknown) => ({ status: 0, body: String(error) }));
    if ((answer.status !== 0 && !retryable(answer.status)) || attempt === RETRIES) return answer;
    await sleep(50 * 2 ** attempt * Math.random());
  }
}

/** Runs `task` on every item, `concurrency` at a time; rejects with the first failure (after the running ones end). */
export async function inParallel<T>(items: Iterable<T>, concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: Error | undefined;
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done && failure === undefined; next = iterator.next()) {
      await task(next.value).catch((error: unknown) => (failure ??= error instanceof Error ? error : new Error(String(error))));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
}
