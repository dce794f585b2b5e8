/**
 * The composition root: the one module that builds a running agent from a `Config`. `rxsign serve`,
 * `rxsign demo`, the tests and the benchmarks all start the agent here, so there is one place that says
 * which parts exist and how they are wired:
 *
 *   token port (PKCS#11 worker) → Spine login agent (auth) → verifier (verify) → audit log → signing service
 *   → routers (page, Ticket API, verification, CIS2 card assertion, signing) → express app → loopback listener
 *
 * Rules:
 * - every part is created here and closed here, in reverse order of creation (HTTP first, module last);
 * - a part given in the options (a fault-injecting token port, a fake fetch, a clock) replaces the real one
 *   behind the same interface, and is closed like it;
 * - signing is on only with a card to sign with: the configured token label, else the card present at start.
 */
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { createApp } from './api/app.js';
import { agentRouters } from './api/routers.js';
import type { SignRouterDeps } from './api/routes/sign.js';
import { openAuditLog, type AuditLog } from './audit/index.js';
import { Agent } from './auth/agent.js';
import { SsbClient, type Fetch } from './auth/ssb-client.js';
import type { Config } from './config.js';
import { createEventBus, type EventBus } from './events.js';
import { listen } from './net.js';
import { openTokenPort, type TokenPort } from './pkcs11/index.js';
import { createSigningService, loadSigningTrust, type SigningService } from './signing/index.js';
import { VERSION } from './version.js';
import { createVerifier, loadTrustStore, type Verifier } from './verify/index.js';

export interface RunningAgent {
  /** The HTTP app (what the listener serves; tests walk its routes). */
  readonly app: RequestListener;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly agent: Agent;
  readonly port: TokenPort;
  readonly verifier: Verifier;
  /** Undefined when no card was configured or present at start (the signing routes are then off). */
  readonly signing: SigningService | undefined;
  /**
   * The event bus (src/events.ts): card, session and signature events come from the parts built here;
   * other parts (origin approvals) emit on it with `events.emit(...)`. GET /api/v1/events streams it.
   */
  readonly events: EventBus;
  /** Stops HTTP, the signing service, the audit log, the Spine session and the module; idempotent. */
  close(): Promise<void>;
}

export interface StartAgentOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** An already-open token port (tests may pass a fault-injecting one); closed with the agent. */
  readonly tokenPort?: TokenPort;
  /** The broker client's fetch (tests inject faults a real broker cannot produce). */
  readonly fetch?: Fetch;
  /** The session clock (tests). */
  readonly now?: () => number;
  /** Listen port (overrides config.port; 0 = any free port). */
  readonly listenPort?: number;
}

/**
 * Builds and starts the whole agent from its configuration.
 *
 * @example
 * ```ts
 * const running = await startAgent({ config: loadConfig(), logger });
 * // http://127.0.0.1:8730/ — the agent page; /ticket-api/* — the Ticket API; /api/v1/* — the rest
 * await running.close();
 * ```
 */
export async function startAgent(o: StartAgentOptions): Promise<RunningAgent> {
  const { config, logger } = o;
  const events = createEventBus();
  const port =
    o.tokenPort ??
    (await openTokenPort({
      modulePath: config.modulePath,
      pollIntervalMs: config.pollIntervalMs,
      mechanisms: config.mechanisms,
      sessions: config.signSessions,
    }));
  const ssb = new SsbClient({
    baseUrl: config.ssbUrl,
    timeoutMs: config.ssbTimeoutMs,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const agent = new Agent({
    port,
    ssb,
    logger,
    loginHash: config.loginHash,
    events: events.emit,
    sessionCaps: {
      ...(config.sessionMaxMinutes !== undefined ? { maxMinutes: config.sessionMaxMinutes } : {}),
      ...(config.sessionIdleMinutes !== undefined
        ? { idleMinutes: config.sessionIdleMinutes }
        : {}),
    },
    ...(config.tokenLabel ? { token: { label: config.tokenLabel } } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  await agent.start();

  const trust = await loadTrustStore({
    trustDirs: config.trustDir ? [config.trustDir] : [],
    crlDirs: config.crlDir ? [config.crlDir] : [],
  });
  const verifier = createVerifier({
    anchors: trust.anchors,
    intermediates: trust.intermediates,
    crls: trust.crls,
  });

  const signingParts = await startSigning(config, logger, agent, port, events);
  const { routers, status } = agentRouters({
    agent,
    verifier,
    cis2: { agent, port, cas: () => [...trust.anchors, ...trust.intermediates] },
    ...(signingParts ? { signing: signingParts.routes } : {}),
    status: {
      version: VERSION,
      session: () => agent.status(),
      broker: () => ({ url: ssb.baseUrl, reachable: ssb.reachable }),
      signing: signingParts !== undefined,
      bus: events,
    },
  });
  const app = createApp({
    logger,
    routers,
    version: VERSION,
    allowedOrigins: config.allowedOrigins,
    // batch verification carries many documents (base64) in one JSON body
    jsonLimits: [
      { prefix: '/api/v1/verify', limit: '70mb' },
      // the HL7 JSON envelope carries a document of up to 2 MiB (as a JSON string: escapes make it longer)
      { prefix: '/api/v1/sign/hl7', limit: '5mb' },
    ],
  });
  const http = await listen(app, {
    port: o.listenPort ?? config.port,
    host: config.host,
    beforeClose: () => status.closeStreams(),
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    url: http.url,
    agent,
    port,
    verifier,
    signing: signingParts?.service,
    events,
    close: () => {
      closing ??= (async () => {
        await http.close();
        await signingParts?.service.close();
        await signingParts?.audit.close();
        await agent.close();
        await port.close();
      })();
      return closing;
    },
  };
}

/** The signing service, its audit log and its router, for the configured card or the card present now. */
async function startSigning(
  config: Config,
  logger: Logger,
  agent: Agent,
  port: TokenPort,
  events: EventBus,
): Promise<{ service: SigningService; audit: AuditLog; routes: SignRouterDeps } | undefined> {
  const card = config.tokenLabel
    ? { label: config.tokenLabel }
    : agent.card
      ? { serial: agent.card.serial }
      : undefined;
  if (!card) {
    logger.warn(
      'no card configured (RXSIGN_TOKEN) or present at start: the signing routes are off',
    );
    return undefined;
  }
  const audit = await openAuditLog(config.auditLogPath);
  const service = createSigningService({
    port,
    token: card,
    pinPolicy: config.pinPolicy,
    audit,
    events: events.emit,
    // One PIN guard for the Spine login and signing: one back-off and one live-login check per card.
    pins: agent.pins,
    trust: await loadSigningTrust({
      ...(config.trustDir ? { trustDir: config.trustDir } : {}),
      ...(config.crlDir ? { crlDir: config.crlDir } : {}),
    }),
  });
  const routes: SignRouterDeps = {
    service,
    signWithoutRole: config.signWithoutRole,
    roleProvider: () => {
      const s = agent.status();
      return s.uid
        ? { uid: s.uid, ...(s.selectedRole ? { roleId: s.selectedRole.id } : {}) }
        : undefined;
    },
  };
  return { service, audit, routes };
}
