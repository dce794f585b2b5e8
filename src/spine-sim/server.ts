/**
 * Starts the simulator on a loopback HTTP socket.
 *
 * Plain HTTP on 127.0.0.1 by default: the simulator is a local test double; the real GAS is HTTPS with
 * server authentication only (spine-protocol.md §1.1).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSpineSimApp, type SpineSimOptions } from './app.js';
import type { SimAdmin } from './admin.js';

/** Options of {@link startSpineSim}: the app's, plus where to listen. */
export interface StartSpineSimOptions extends SpineSimOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
}

/** A running simulator. */
export interface RunningSpineSim {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly admin: SimAdmin;
  /** Stops listening and ends every open connection, hanging ones included. */
  close(): Promise<void>;
}

/**
 * Starts the simulator.
 *
 * @example
 * ```ts
 * const sim = await startSpineSim({ port: 0, users, trust, crls });
 * await fetch(`${sim.url}/login/authactivate`, { method: 'POST', body });
 * await sim.close();
 * ```
 */
export async function startSpineSim(options: StartSpineSimOptions): Promise<RunningSpineSim> {
  const host = options.host ?? '127.0.0.1';
  const { app, admin, hanging } = createSpineSimApp(options);
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    admin,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const res of hanging) {
          res.destroy();
        }
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
