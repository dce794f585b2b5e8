/**
 * Listening on loopback, shared by the agent and the Spine simulator: one place that binds, reports the URL
 * and closes every connection (keep-alive and hanging ones included) on shutdown.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorFactory, type ErrorTable } from './errors.js';

export interface Listening {
  /** `http://127.0.0.1:<port>` (IPv6 addresses in brackets). */
  readonly url: string;
  /** Stops listening and ends every open connection; idempotent. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server for `handler` on `host:port` (port 0 = any free port).
 *
 * @example
 * ```ts
 * const { url, close } = await listen(app, { port: 0, host: '127.0.0.1' });
 * ```
 */
export async function listen(
  handler: RequestListener,
  o: { port: number; host: string; beforeClose?: () => void },
): Promise<Listening> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        o.beforeClose?.();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Start-up errors of the listener (the CLI prints the message, which names the address). */
export type ListenErrorCode = 'ERR_LISTEN_ADDRESS_IN_USE' | 'ERR_LISTEN_NOT_LOOPBACK';

export const LISTEN_ERRORS: ErrorTable<ListenErrorCode> = {
  ERR_LISTEN_ADDRESS_IN_USE: {
    status: 500,
    message: 'the agent cannot listen: the address is in use',
    fix: 'Another program (maybe another user’s) holds the port on 127.0.0.1 or [::1]: stop it or choose another RXSIGN_PORT. The agent needs both, so that no one else can answer on the other.',
  },
  ERR_LISTEN_NOT_LOOPBACK: {
    status: 500,
    message: 'the agent listens on loopback only',
    fix: 'Use RXSIGN_HOST=127.0.0.1 (the default), or set RXSIGN_UNSAFE_LISTEN=1 after reading docs/security.md.',
  },
};

const listenError = errorFactory(LISTEN_ERRORS);

const LOOPBACK_NAMES = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** True for a loopback peer address: 127.0.0.0/8, ::1, or ::ffff:127.x.x.x (IPv4-mapped). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) {
    return false;
  }
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * The addresses the agent binds for a configured host: a loopback name means both 127.0.0.1 and ::1 (so that
 * another user cannot answer on the one left free, e.g. `localhost` resolving to ::1 first); anything else is
 * refused with ERR_LISTEN_NOT_LOOPBACK unless `unsafe` is set (RXSIGN_UNSAFE_LISTEN).
 */
export function listenAddresses(host: string, unsafe: boolean): string[] {
  if (LOOPBACK_NAMES.has(host.toLowerCase())) {
    return ['127.0.0.1', '::1'];
  }
  if (!unsafe) {
    throw listenError('ERR_LISTEN_NOT_LOOPBACK', {
      detail: { host, field: `${host} is not a loopback address` },
    });
  }
  return [host];
}

function bindOne(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: host.includes(':') }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Starts one HTTP server per address, all on the same port (port 0: a free port, the same on every address).
 * Any address already in use fails the start (ERR_LISTEN_ADDRESS_IN_USE); ::1 is skipped only where the system
 * has no IPv6 loopback (then no one can bind it either). `url` is the first address's.
 *
 * @example
 * ```ts
 * const http = await listenAll(app, { port: 8730, hosts: ['127.0.0.1', '::1'] });
 * ```
 */
export async function listenAll(
  handler: RequestListener,
  o: { port: number; hosts: readonly string[]; beforeClose?: () => void },
): Promise<Listening & { readonly servers: readonly Server[] }> {
  for (let attempt = 0; ; attempt++) {
    const servers: Server[] = [];
    let port = o.port;
    try {
      for (const host of o.hosts) {
        const server = createServer(handler);
        try {
          await bindOne(server, port, host);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (host === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
            continue;
          }
          throw err;
        }
        servers.push(server);
        port = (server.address() as AddressInfo).port;
      }
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && o.port === 0 && attempt < 5) {
        continue; // a free port on 127.0.0.1 was taken on ::1: try another
      }
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw listenError('ERR_LISTEN_ADDRESS_IN_USE', {
          cause: err,
          detail: { port, field: `port ${port}` },
        });
      }
      throw err;
    }
    const first = servers[0]?.address() as AddressInfo;
    const url = `http://${first.family === 'IPv6' ? `[${first.address}]` : first.address}:${first.port}`;
    let closing: Promise<void> | undefined;
    return {
      url,
      servers,
      close: () => {
        closing ??= (async () => {
          o.beforeClose?.();
          await Promise.all(
            servers.map(
              (s) =>
                new Promise<void>((resolve) => {
                  s.close(() => resolve());
                  s.closeAllConnections();
                }),
            ),
          );
        })();
        return closing;
      },
    };
  }
}
