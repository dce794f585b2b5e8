// A lean HTTP/1.1 load generator for the benchmarks, in the manner of wrk or autocannon: one keep-alive
// connection per client, the request's bytes built once, each answer read by its Content-Length and checked.
// It runs in the benchmark's own process, so its CPU counts against the service it measures; node:http's
// client costs several times more per request than this, and fetch (undici) more again, which would make the
// figure say more about the client than about rxsign.
import { connect, type Socket } from 'node:net';

/** What one answer must satisfy; a failing check rejects the request (and so the benchmark). */
export type AnswerCheck = (status: number, body: Buffer) => void;

/** One keep-alive connection that sends the same request again and again, one at a time. */
export interface LoadConnection {
  send(): Promise<void>;
  close(): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** The request's method (default POST with a JSON body) and extra headers (e.g. Authorization). */
export interface RequestOptions {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
}
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)\r\n/i;

/**
 * Opens a connection to 127.0.0.1:`port` that POSTs `body` (JSON) to `path` on every `send()`.
 *
 * @example
 * ```ts
 * const conn = await loadConnection(port, '/api/v1/sign/cms', body, (status) => assert(status === 200));
 * await conn.send();
 * conn.close();
 * ```
 */
export async function loadConnection(
  port: number,
  path: string,
  body: string,
  check: AnswerCheck,
  options: RequestOptions = {},
): Promise<LoadConnection> {
  const extra = Object.entries(options.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request =
    options.method === 'GET'
      ? Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`)
      : Buffer.from(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
            `${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffered: Buffer = Buffer.alloc(0);
  let waiting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const fail = (err: Error): void => {
    const w = waiting;
    waiting = undefined;
    w?.reject(err);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('bench: the server closed the connection')));
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headEnd = buffered.indexOf(HEADER_END);
    if (headEnd < 0) {
      return;
    }
    const head = buffered.toString('latin1', 0, headEnd + 2);
    const length = CONTENT_LENGTH.exec(head);
    if (!length?.[1]) {
      fail(new Error('bench: an answer without Content-Length'));
      return;
    }
    const end = headEnd + HEADER_END.length + Number(length[1]);
    if (buffered.length < end) {
      return;
    }
    const status = Number(head.slice(9, 12));
    const answer = buffered.subarray(headEnd + HEADER_END.length, end);
    buffered = buffered.subarray(end);
    const w = waiting;
    waiting = undefined;
    try {
      check(status, answer);
      w?.resolve();
    } catch (err) {
      w?.reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
  return {
    send: () =>
      new Promise<void>((resolve, reject) => {
        if (waiting !== undefined) {
          reject(new Error('bench: one request at a time per connection'));
          return;
        }
        waiting = { resolve, reject };
        socket.write(request);
      }),
    close: () => socket.destroy(),
  };
}

/**
 * `clients` connections; the returned function sends on a free one (use it with `rate(op, ms, clients)`).
 *
 * @example
 * ```ts
 * const pool = await loadPool(port, path, body, check, 16);
 * const perSecond = await rate(pool.send, 3000, 16);
 * pool.close();
 * ```
 */
export async function loadPool(
  port: number,
  path: string,
  body: string,
  check: AnswerCheck,
  clients: number,
  options: RequestOptions = {},
): Promise<{ send: () => Promise<void>; close: () => void }> {
  const free = await Promise.all(
    Array.from({ length: clients }, () => loadConnection(port, path, body, check, options)),
  );
  const all = [...free];
  return {
    send: async () => {
      const conn = free.pop();
      if (conn === undefined) {
        throw new Error('bench: more callers than connections');
      }
      try {
        await conn.send();
      } finally {
        free.push(conn);
      }
    },
    close: () => {
      for (const c of all) {
        c.close();
      }
    },
  };
}
