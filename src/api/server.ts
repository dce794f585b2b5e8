/**
 * Starts the agent: the token port (PKCS#11 worker), the Spine login agent, and the local HTTP service on
 * loopback. Everything stops cleanly on close(): HTTP server, broker logout, card logout, module finalize.
 */
import type { Router } from 'express';
import type { Logger } from 'pino';
import { Agent } from '../auth/agent.js';
import { SsbClient, type Fetch } from '../auth/ssb-client.js';
import type { Config } from '../config.js';
import { listen } from '../net.js';
import { openTokenPort, type TokenPort } from '../pkcs11/index.js';
import { createApp } from './app.js';
import { pageRouter } from './routes/page.js';
import { ticketRouter } from './routes/ticket.js';

export interface AgentServer {
  readonly url: string;
  readonly agent: Agent;
  readonly port: TokenPort;
  close(): Promise<void>;
}

export interface StartAgentOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** An already-open token port (tests may pass a fault-injecting one). */
  readonly tokenPort?: TokenPort;
  readonly fetch?: Fetch;
  readonly now?: () => number;
  /** Extra routers (signing, verification), built with the agent and port. */
  readonly routers?: (deps: {
    agent: Agent;
    port: TokenPort;
  }) => Promise<{ routers: Router[]; close: () => Promise<void> }>;
  /** Listen port (overrides config.port; 0 = any free port). */
  readonly listenPort?: number;
}

/**
 * Starts the agent.
 *
 * @example
 * ```ts
 * const server = await startAgentServer({ config: loadConfig(), logger });
 * // http://127.0.0.1:8730/ — the agent page; /ticket-api/* — the Ticket API
 * await server.close();
 * ```
 */
export async function startAgentServer(o: StartAgentOptions): Promise<AgentServer> {
  const port =
    o.tokenPort ??
    (await openTokenPort({
      modulePath: o.config.modulePath,
      pollIntervalMs: o.config.pollIntervalMs,
      mechanisms: o.config.mechanisms,
      sessions: o.config.signSessions,
    }));
  const ssb = new SsbClient({
    baseUrl: o.config.ssbUrl,
    timeoutMs: o.config.ssbTimeoutMs,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const agent = new Agent({
    port,
    ssb,
    logger: o.logger,
    loginHash: o.config.loginHash,
    ...(o.config.tokenLabel ? { token: { label: o.config.tokenLabel } } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  await agent.start();
  const extra = o.routers
    ? await o.routers({ agent, port })
    : { routers: [], close: async () => undefined };
  const app = createApp({
    logger: o.logger,
    routers: [pageRouter(), ticketRouter(agent), ...extra.routers],
    allowedOrigins: o.config.allowedOrigins,
    // batch verification carries many documents (base64) in one JSON body
    jsonLimits: [{ prefix: '/api/v1/verify', limit: '70mb' }],
  });
  const http = await listen(app, { port: o.listenPort ?? o.config.port, host: o.config.host });
  let closing: Promise<void> | undefined;
  return {
    url: http.url,
    agent,
    port,
    close: () => {
      closing ??= (async () => {
        await http.close();
        await extra.close();
        await agent.close();
        await port.close();
      })();
      return closing;
    },
  };
}
