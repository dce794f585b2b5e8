/**
 * Starts the simulator on a loopback HTTP socket.
 *
 * Plain HTTP on 127.0.0.1 by default: the simulator is a local test double; the real GAS is HTTPS with
 * server authentication only (docs/protocol/cis-login.md §1.1).
 */
import { listen } from '../net.js';
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
  const { app, admin, hanging } = createSpineSimApp(options);
  const http = await listen(app, {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    beforeClose: () => {
      for (const res of hanging) {
        res.destroy();
      }
    },
  });
  return { url: http.url, admin, close: http.close };
}
