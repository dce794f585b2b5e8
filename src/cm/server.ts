/**
 * The Credential Management drop-in: the port service (`/PRS/*`) and the classic SignalR `signingHub`
 * (`/signalr/*`) on one loopback port, the first free of CM's five (docs/cm.md).
 *
 * Rules:
 * - loopback only: it listens on 127.0.0.1 and ::1 on the same port (a port where either is taken is
 *   skipped, so another user's listener on ::1 cannot catch the browser's `localhost`), and the `Host` must
 *   be `localhost`, `127.0.0.1` or `[::1]` with this port (DNS rebinding);
 * - the client socket must belong to the agent's own OS user (peer.ts: the kernel's socket table), so
 *   another user's browser on a shared machine never reaches this user's card;
 * - every request must carry an `Origin` on the allowlist (never `null`, never absent): anything else is a
 *   403 with no CORS headers, before any other work — so a foreign page fails at discovery at once instead
 *   of hanging in the SignalR client;
 * - answers to allowed origins carry `Access-Control-Allow-Origin: <exact origin>`,
 *   `Access-Control-Allow-Credentials: true` and `Vary: Origin` (the library sends credentials); preflights,
 *   including Chromium's Local/Private Network Access one, are answered for allowed origins only;
 * - the SignalR client counts only HTTP 200 with a JSON body as success, so every answer it must read is
 *   200 + JSON; unknown or foreign connection tokens are 403; a body over 8 MiB is 413;
 * - `/send` always ends: the hub races the signing with its own deadline and answers a HubResponse with a
 *   non-zero `status_code` on timeout; polls are held briefly and answered with `L` (docs/cm.md §2);
 *   a page that goes away (its `/send` request closes) withdraws its question from the agent's page;
 * - the connection token is a bearer secret: it is never logged (only the path is).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { ConnectionTable, type Connection } from './connections.js';
import { setPreflightHeaders } from '../cors.js';
import { peerUid } from '../peer.js';
import { decodeSignRequest, hubRefusal, type HubResponse, type SignRequest } from './request.js';

/** NHS Credential Management's port-service ports (docs/cm.md §1). */
export const CM_PORTS: readonly number[] = [43487, 44213, 45031, 46478, 48853];

export interface CmServiceOptions {
  /** Candidate ports, the first free one is used (default CM_PORTS; 0 = any free port, for tests). */
  readonly ports?: readonly number[];
  /** Exact web origins allowed to use the hub. */
  readonly allowedOrigins: readonly string[];
  readonly logger: Logger;
  /** Whether the agent can sign now (a card and the signing service); false → the port service's fault. */
  readonly available: () => boolean;
  /** Signs a valid request for `origin`; the hub aborts `signal` at its deadline. */
  readonly requestToSign: (
    request: SignRequest,
    origin: string,
    signal: AbortSignal,
  ) => Promise<HubResponse>;
  /** How long /send may take before the hub answers a timeout HubResponse (default 120 s). */
  readonly sendDeadlineMs?: number;
  /** How long a poll is held (default 2 s) and the `L` it returns (default 15 s). */
  readonly pollHoldMs?: number;
  readonly pollDelayMs?: number;
  /**
   * The OS user whose browser may call (default: this process's uid). A connection whose client socket is
   * owned by another user (peer.ts) is refused: the ports are fixed, so another user's browser can reach
   * them. `null` turns the check off (a platform without /proc/net).
   */
  readonly ownerUid?: number | null;
  /** A connection unused this long is forgotten (default 120 s); at most `maxConnections` (default 64). */
  readonly idleMs?: number;
  readonly maxConnections?: number;
}

export interface RunningCmService {
  /** The port the port service and the hub listen on. */
  readonly port: number;
  readonly url: string;
  /** Marks the service as stopping (the port service answers its fault from now on). */
  stopping(): void;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;

class HttpRefusal extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

/** Listens on 127.0.0.1 and ::1 on the first port of `ports` where both are free. */
async function listenBoth(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  ports: readonly number[],
): Promise<{ port: number; close: () => Promise<void> }> {
  const errors: string[] = [];
  for (const candidate of ports) {
    const v4 = createServer(handler);
    try {
      await bind(v4, candidate, '127.0.0.1');
    } catch (err) {
      errors.push(`${candidate}/127.0.0.1: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      continue;
    }
    const port = (v4.address() as AddressInfo).port;
    const v6 = createServer(handler);
    try {
      await bind(v6, port, '::1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') {
        // Someone else holds [::1]:port: a browser's `localhost` could reach them. Skip the port.
        errors.push(`${port}/::1: ${code ?? 'error'}`);
        await closeServer(v4);
        continue;
      }
      // No IPv6 loopback on this machine: 127.0.0.1 alone is all `localhost` can mean.
      return { port, close: () => closeServer(v4) };
    }
    return {
      port,
      close: async () => void (await Promise.all([closeServer(v4), closeServer(v6)])),
    };
  }
  throw Object.assign(new Error(`no free Credential Management port (${errors.join(', ')})`), {
    code: 'ERR_CM_NO_PORT',
  });
}

function bind(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) {
    throw new HttpRefusal(413, 'ERR_CM_BODY_TOO_LARGE');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) {
      throw new HttpRefusal(413, 'ERR_CM_BODY_TOO_LARGE');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the port service and the hub.
 *
 * @example
 * ```ts
 * const cm = await startCmService({ allowedOrigins: ['https://rx.example'], logger, available, requestToSign });
 * // GET http://localhost:43487/PRS/GetPortNumber → {"portData":{"portNumber":43487}}
 * ```
 */
export async function startCmService(o: CmServiceOptions): Promise<RunningCmService> {
  const allowed = new Set(o.allowedOrigins);
  const connections = new ConnectionTable({
    idleMs: o.idleMs ?? 120_000,
    maxConnections: o.maxConnections ?? 64,
  });
  const deadlineMs = o.sendDeadlineMs ?? 120_000;
  const holdMs = o.pollHoldMs ?? 2_000;
  const delayMs = o.pollDelayMs ?? 15_000;
  const held = new Set<() => void>();
  const inFlight = new Set<AbortController>();
  let stopping = false;
  let port = 0;
  const owner = o.ownerUid === undefined ? (process.getuid?.() ?? null) : o.ownerUid;
  const peers = new WeakMap<Socket, Promise<number | undefined>>();

  const sweeper = setInterval(() => connections.sweep(), 30_000);
  sweeper.unref();

  function cors(res: ServerResponse, origin: string): void {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'Origin');
  }

  function json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(text);
  }

  /** The origin of an acceptable request, else a refusal (403, no CORS headers). */
  async function guard(req: IncomingMessage): Promise<string> {
    const host = (req.headers.host ?? '').toLowerCase();
    const hostOk = ['localhost', '127.0.0.1', '[::1]'].some((h) => host === `${h}:${port}`);
    const peer = req.socket.remoteAddress ?? '';
    const peerOk = peer === '127.0.0.1' || peer === '::1' || peer === '::ffff:127.0.0.1';
    if (!hostOk || !peerOk) {
      throw new HttpRefusal(403, 'ERR_FORBIDDEN_HOST');
    }
    if (owner !== null) {
      let uid = peers.get(req.socket);
      if (uid === undefined) {
        uid = peerUid(req.socket);
        peers.set(req.socket, uid);
      }
      if ((await uid) !== owner) {
        throw new HttpRefusal(403, 'ERR_FORBIDDEN_USER');
      }
    }
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || origin === 'null' || !allowed.has(origin)) {
      throw new HttpRefusal(403, 'ERR_FORBIDDEN_ORIGIN');
    }
    return origin;
  }

  function connection(url: URL, origin: string): Connection {
    if (url.searchParams.get('transport') !== 'longPolling') {
      throw new HttpRefusal(400, 'ERR_CM_TRANSPORT');
    }
    const c = connections.use(url.searchParams.get('connectionToken') ?? undefined, origin);
    if (!c) {
      throw new HttpRefusal(403, 'ERR_CM_CONNECTION_UNKNOWN');
    }
    return c;
  }

  function poll(res: ServerResponse, c: Connection): void {
    const answer = (): void => {
      held.delete(answer);
      clearTimeout(timer);
      if (!res.writableEnded) {
        json(res, 200, { C: String(c.cursor), M: [], L: delayMs });
      }
    };
    const timer = setTimeout(answer, stopping ? 0 : holdMs);
    held.add(answer);
    res.on('close', () => {
      held.delete(answer);
      clearTimeout(timer);
    });
  }

  async function send(body: string, origin: string, gone: AbortSignal): Promise<unknown> {
    const data = new URLSearchParams(body).get('data');
    let invocation: { H?: unknown; M?: unknown; A?: unknown; I?: unknown };
    try {
      invocation = JSON.parse(data ?? '') as typeof invocation;
    } catch {
      throw new HttpRefusal(400, 'ERR_CM_BAD_INVOCATION');
    }
    if (typeof invocation !== 'object' || invocation === null) {
      throw new HttpRefusal(400, 'ERR_CM_BAD_INVOCATION');
    }
    const id = String(
      typeof invocation.I === 'number' || typeof invocation.I === 'string' ? invocation.I : 0,
    ).slice(0, 16);
    const hub = typeof invocation.H === 'string' ? invocation.H.toLowerCase() : '';
    const method = typeof invocation.M === 'string' ? invocation.M.toLowerCase() : '';
    if (hub !== 'signinghub' || method !== 'requesttosign') {
      return { I: id, E: `'${hub}.${method}' is not a method of this hub.` };
    }
    const args = Array.isArray(invocation.A) ? (invocation.A as unknown[]) : [];
    const request = args.length === 1 ? decodeSignRequest(args[0]) : undefined;
    if (!request) {
      o.logger.info({ origin, code: 'ERR_CM_BAD_REQUEST' }, 'requestToSign refused');
      return { I: id, R: hubRefusal('BAD_REQUEST', new Date()) };
    }
    const ac = new AbortController();
    // The page went away (its request closed): the question is withdrawn from the agent's page, as for the
    // agent's own API (docs/page.md), instead of waiting for an answer no page can receive.
    const onGone = (): void => ac.abort();
    gone.addEventListener('abort', onGone, { once: true });
    if (gone.aborted) {
      ac.abort();
    }
    inFlight.add(ac);
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<HubResponse>((resolve) => {
        timer = setTimeout(() => {
          ac.abort();
          resolve(hubRefusal('TIMEOUT', new Date()));
        }, deadlineMs);
      });
      const result = await Promise.race([o.requestToSign(request, origin, ac.signal), deadline]);
      return { I: id, R: result };
    } finally {
      clearTimeout(timer);
      gone.removeEventListener('abort', onGone);
      inFlight.delete(ac);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const origin = await guard(req);
    cors(res, origin);
    if (req.method === 'OPTIONS') {
      setPreflightHeaders(req.headers, res, 'content-type');
      res.writeHead(204).end();
      return;
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/PRS/GetPortNumber' && method === 'GET') {
      if (stopping || !o.available()) {
        const message =
          'Request failed due to unknown exception. Exception=Unable to find CM process for user';
        json(res, 200, {
          faultException: { code: 'PR30007', message },
          FaultException: { Code: 'PR30007', Message: message },
        });
        return;
      }
      json(res, 200, { portData: { portNumber: port } });
      return;
    }
    if (path === '/PRS/ConnectPRService' && (method === 'GET' || method === 'POST')) {
      json(res, 200, { statusCode: 200 });
      return;
    }
    if (path === '/signalr/ping' && method === 'GET') {
      json(res, 200, { Response: 'pong' });
      return;
    }
    if (path === '/signalr/negotiate' && method === 'GET') {
      if (stopping) {
        throw new HttpRefusal(503, 'ERR_CM_STOPPING');
      }
      const c = connections.open(origin);
      json(res, 200, {
        Url: '/signalr',
        ConnectionToken: c.token,
        ConnectionId: c.id,
        KeepAliveTimeout: 20.0,
        DisconnectTimeout: 30.0,
        ConnectionTimeout: 110.0,
        TryWebSockets: false,
        ProtocolVersion: '1.5',
        TransportConnectTimeout: 5.0,
        LongPollDelay: 0.0,
      });
      return;
    }
    if (method !== 'GET' && method !== 'POST') {
      throw new HttpRefusal(405, 'ERR_METHOD_NOT_ALLOWED');
    }
    switch (path) {
      case '/signalr/connect':
      case '/signalr/reconnect': {
        const c = connection(url, origin);
        await readBody(req);
        c.cursor += 1;
        json(res, 200, { C: String(c.cursor), S: 1, M: [] });
        return;
      }
      case '/signalr/start':
        connection(url, origin);
        json(res, 200, { Response: 'started' });
        return;
      case '/signalr/poll': {
        const c = connection(url, origin);
        await readBody(req);
        poll(res, c);
        return;
      }
      case '/signalr/send': {
        connection(url, origin);
        const body = await readBody(req);
        const gone = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) {
            gone.abort();
          }
        });
        json(res, 200, await send(body, origin, gone.signal));
        return;
      }
      case '/signalr/abort':
        await readBody(req);
        connections.close(url.searchParams.get('connectionToken') ?? undefined, origin);
        json(res, 200, {});
        return;
      default:
        throw new HttpRefusal(404, 'ERR_NOT_FOUND');
    }
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      json(res, 400, { code: 'ERR_BAD_REQUEST' });
      return;
    }
    route(req, res, url).catch((err: unknown) => {
      const refusal = err instanceof HttpRefusal ? err : new HttpRefusal(500, 'ERR_INTERNAL');
      if (refusal.status >= 500) {
        o.logger.error(
          { path: url.pathname, errorName: (err as Error)?.name },
          'cm request failed',
        );
      } else {
        o.logger.info(
          { path: url.pathname, status: refusal.status, code: refusal.code },
          'cm refused',
        );
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (refusal.status === 403 && refusal.code.startsWith('ERR_FORBIDDEN_')) {
        res.removeHeader('access-control-allow-origin');
        res.removeHeader('access-control-allow-credentials');
      }
      json(res, refusal.status, { code: refusal.code });
    });
  };

  const listening = await listenBoth(handler, o.ports ?? CM_PORTS);
  port = listening.port;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://localhost:${port}`,
    stopping: () => {
      stopping = true;
    },
    close: () => {
      closing ??= (async () => {
        stopping = true;
        clearInterval(sweeper);
        for (const answer of [...held]) {
          answer();
        }
        for (const ac of inFlight) {
          ac.abort();
        }
        await listening.close();
        connections.clear();
      })();
      return closing;
    },
  };
}
