/**
 * Listening on loopback, shared by the agent and the Spine simulator: one place that binds, reports the URL
 * and closes every connection (keep-alive and hanging ones included) on shutdown.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
