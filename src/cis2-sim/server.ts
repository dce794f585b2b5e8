/**
 * Starts the CIS2 simulator on a loopback HTTP socket. The issuer names the port, so the socket is bound
 * first and the provider built for the URL it got.
 */
import type { RequestListener } from 'node:http';
import { listen } from '../net.js';
import { createCis2SimApp, type Cis2SimApp, type Cis2SimOptions } from './app.js';

export interface StartCis2SimOptions extends Omit<Cis2SimOptions, 'publicUrl'> {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default: the URL the socket is bound to. */
  readonly publicUrl?: string;
}

export interface RunningCis2Sim {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The OpenID issuer (discovery at `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: string;
  readonly sim: Cis2SimApp;
  close(): Promise<void>;
}

/**
 * Starts the simulator.
 *
 * @example
 * ```ts
 * const cis2 = await startCis2Sim({ users, trust, crls, clients, agentUrl: agent.url });
 * const config = await client.discovery(new URL(cis2.issuer), 'app', …);
 * ```
 */
export async function startCis2Sim(o: StartCis2SimOptions): Promise<RunningCis2Sim> {
  const slot: { handler?: RequestListener } = {};
  const http = await listen(
    (req, res) => {
      if (slot.handler) {
        slot.handler(req, res);
      } else {
        res.writeHead(503).end();
      }
    },
    { port: o.port ?? 0, host: o.host ?? '127.0.0.1' },
  );
  const sim: Cis2SimApp = await createCis2SimApp({
    ...o,
    publicUrl: o.publicUrl ?? http.url,
  }).catch(async (err: unknown) => {
    await http.close();
    throw err;
  });
  slot.handler = sim.handler;
  return {
    url: http.url,
    issuer: sim.issuer,
    sim,
    close: async () => {
      sim.close();
      await http.close();
    },
  };
}
