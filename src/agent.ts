/**
 * The composition root: the one module that builds a running agent from a `Config`. `rxsign serve`,
 * `rxsign demo`, the tests and the benchmarks all start the agent here, so there is one place that says
 * which parts exist and how they are wired:
 *
 *   token port (PKCS#11 worker) → Spine login agent (auth) → verifier (verify) → audit log → signing service
 *   → routers (page, Ticket API, verification, CIS2 card assertion, signing, approvals) → express app → loopback listeners
 *
 * Who may call (docs/security.md): the private runtime folder is checked (or made, 0700) before anything
 * starts; a fresh 256-bit key is written there as `api-key` (0600) once the agent listens on both 127.0.0.1
 * and ::1, with `open.html`, the link to the agent page; both are removed on close.
 *
 * Rules:
 * - every part is created here and closed here, in reverse order of creation (HTTP first, module last);
 * - a part given in the options (a fault-injecting token port, a fake fetch, a clock) replaces the real one
 *   behind the same interface, and is closed like it;
 * - signing is on only with a card to sign with: the configured token label, else the card present at start.
 */
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRouters,
  Approvals,
  approvalGate,
  createApp,
  pageSecret,
  type AccessOptions,
  type Gate,
  type SignRouterDeps,
} from './api/index.js';
import { openAuditLog, type AuditLog } from './audit/index.js';
import { Agent, SsbClient, type Fetch } from './auth/index.js';
import { hubRequestHandler, startCmService, type RunningCmService } from './cm/index.js';
import { configError, type Config } from './config.js';
import { createEventBus, type EventBus } from './events.js';
import { listenAddresses, listenAll } from './net.js';
import { openTokenPort, type TokenPort } from './pkcs11/index.js';
import { ensurePrivateDir, newKey, readSecretFile, writeSecretFile } from './runtime.js';
import { createSigningService, loadSigningTrust, type SigningService } from './signing/index.js';
import { VERSION } from './version.js';
import { createVerifier, loadTrustStore, type Verifier } from './verify/index.js';

export interface RunningAgent {
  /** The HTTP app (what the listener serves; tests walk its routes). */
  readonly app: RequestListener;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The agent page with its session secret in the fragment (what `rxsign open` opens). A secret: never log it. */
  readonly pageUrl: string;
  /** This start's key (also in `<runtimeDir>/api-key`): `Authorization: Bearer <apiKey>` is the CLI. */
  readonly apiKey: string;
  /** The private runtime folder (api-key, open.html). */
  readonly runtimeDir: string;
  /** The user's answers to web pages. */
  readonly approvals: Approvals;
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
  /** The Credential Management drop-in, when configured (docs/cm.md). */
  readonly cm: RunningCmService | undefined;
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
  // Refuse early, before the card is touched: an unsafe folder, a listen address that is not loopback, an
  // unreadable client key file.
  const hosts = listenAddresses(config.host, config.unsafeListen);
  const runtimeDir = ensurePrivateDir(config.runtimeDir);
  const apiKey = newKey();
  const keys = new Map<string, string>([
    ['cli', apiKey],
    ['page', pageSecret(apiKey)],
  ]);
  for (const [name, file] of Object.entries(config.clientKeys)) {
    const key = readSecretFile(file);
    if (!/^[\x21-\x7e]{32,512}$/.test(key)) {
      throw configError('ERR_CONFIG_INVALID', {
        detail: {
          field: `the key file of client ${name} must hold 32-512 printable characters (e.g. openssl rand -base64 32)`,
        },
      });
    }
    keys.set(name, key);
  }
  const approvals = new Approvals({
    stateDir: config.stateDir,
    preApproved: config.approvedOrigins,
    timeoutMs: config.approvalTimeoutMs,
  });
  // The user's answers to web pages are events too (ids and origins only).
  approvals.on('pending', (e: { id: string; origin: string }) => {
    events.emit({ type: 'approval.pending', origin: e.origin, requestId: e.id });
  });
  approvals.on('answered', (e: { id: string; origin: string; outcome: string }) => {
    events.emit({
      type: 'approval.answered',
      origin: e.origin,
      requestId: e.id,
      answer:
        e.outcome === 'once'
          ? 'allow-once'
          : e.outcome === 'always'
            ? 'always'
            : e.outcome === 'deny'
              ? 'deny'
              : 'timeout',
    });
  });
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

  const access: AccessOptions = {
    keys,
    allowedOrigins: config.allowedOrigins,
    approvals,
    describeUser: () => describeUser(agent),
    signPin: config.pinPolicy === 'per-signature',
  };
  const gate = approvalGate(access);
  const signingParts = await startSigning(config, logger, agent, port, gate, events);
  const { routers, status } = agentRouters({
    agent,
    gate,
    verifier,
    approvals,
    auditLogPath: () => config.auditLogPath,
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
    access,
    // batch verification carries many documents (base64) in one JSON body
    jsonLimits: [
      // two at a time: two 70 MiB batches and their documents fit in the agent's heap (src/node-flags.ts)
      { prefix: '/api/v1/verify', limit: '70mb', concurrent: 2 },
      // the HL7 JSON envelope carries a document of up to 2 MiB (as a JSON string: escapes make it longer)
      { prefix: '/api/v1/sign/hl7', limit: '5mb' },
    ],
  });
  /** Closes what started before the HTTP listeners, in reverse order (start-up failures and close()). */
  const closeParts = async (): Promise<void> => {
    await signingParts?.service.close();
    await signingParts?.audit.close();
    await agent.close();
    await port.close();
  };
  let http;
  try {
    http = await listenAll(app, {
      port: o.listenPort ?? config.port,
      hosts,
      beforeClose: () => status.closeStreams(),
    });
  } catch (err) {
    await closeParts();
    throw err;
  }
  let cm: RunningCmService | undefined;
  try {
    cm = config.cm.enabled
      ? await startCm(config, logger, agent, approvals, signingParts?.service)
      : undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_CM_NO_PORT') {
      // Every one of CM's ports is taken (on a terminal server, by other users' agents or by anyone who binds
      // them first): the agent's own API, login and Ticket API still start; only the drop-in stays off.
      logger.warn(
        { code: 'ERR_CM_NO_PORT', reason: (err as Error).message },
        'Credential Management drop-in not started: no free port; the agent runs without it',
      );
      cm = undefined;
    } else {
      await http.close();
      await closeParts();
      throw err;
    }
  }
  const pageUrl = `${http.url}/#page=${keys.get('page') ?? ''}`;
  writeSecretFile(runtimeDir, 'api-key', `${apiKey}\n`);
  writeSecretFile(runtimeDir, 'open.html', openHtml(pageUrl));
  logger.info({ url: http.url, runtimeDir }, 'agent listening');

  let closing: Promise<void> | undefined;
  return {
    app,
    url: http.url,
    pageUrl,
    apiKey,
    runtimeDir,
    approvals,
    agent,
    port,
    verifier,
    signing: signingParts?.service,
    events,
    cm,
    close: () => {
      closing ??= (async () => {
        cm?.stopping();
        await cm?.close();
        removeIfOurs(join(runtimeDir, 'api-key'), apiKey);
        removeIfOurs(join(runtimeDir, 'open.html'), pageUrl);
        approvals.close();
        await http.close();
        await closeParts();
      })();
      return closing;
    },
  };
}

/**
 * The Credential Management drop-in (docs/cm.md): the port service and `signingHub` on the first free of the
 * configured ports, for the allowlisted origins, through the user's approval and the signing service.
 */
async function startCm(
  config: Config,
  logger: Logger,
  agent: Agent,
  approvals: Approvals,
  signing: SigningService | undefined,
): Promise<RunningCmService> {
  const cardPresent = (): boolean => signing !== undefined && agent.card !== undefined;
  const cm = await startCmService({
    ports: config.cm.ports,
    allowedOrigins: config.allowedOrigins,
    logger: logger.child({ component: 'cm' }),
    available: cardPresent,
    requestToSign: hubRequestHandler({
      cardPresent,
      approve: async (origin, what, signal) => {
        const { outcome, pin } = await approvals.ask(
          origin,
          {
            action: 'sign',
            count: what.count,
            documentIds: what.ids,
            as: describeUser(agent),
            pin: config.pinPolicy === 'per-signature',
          },
          signal,
        );
        const answer =
          outcome === 'once' || outcome === 'always'
            ? 'allow'
            : outcome === 'timeout' || outcome === 'busy'
              ? outcome
              : 'deny';
        return { answer, ...(pin !== undefined ? { pin } : {}) };
      },
      waitForSession: (signal) => waitForSession(agent, signal),
      signBatch: (request, caller) => {
        if (!signing) {
          throw Object.assign(new Error('no signing card'), { code: 'ERR_SIGN_NO_SIGNING_CERT' });
        }
        // a PIN here was typed on the agent page, with the approval (per-signature policy)
        return signing.signEpsBatch(
          request,
          caller.pin === undefined ? caller : { ...caller, pinFrom: 'page' },
        );
      },
    }),
  });
  logger.info({ port: cm.port }, 'Credential Management drop-in listening');
  return cm;
}

/** The session's UID and role once the user is logged in with a role selected; undefined if `signal` aborts. */
async function waitForSession(
  agent: Agent,
  signal: AbortSignal,
): Promise<{ uid: string; roleId?: string } | undefined> {
  for (;;) {
    const s = agent.status();
    if (s.state === 'active' && s.uid !== undefined) {
      return { uid: s.uid, ...(s.selectedRole ? { roleId: s.selectedRole.id } : {}) };
    }
    if (signal.aborted) {
      return undefined;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 200);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}

/** "Dr A Smith, Medical Practitioner Access Role at GP Surgery" for the approval question. */
function describeUser(agent: Agent): string {
  const s = agent.status();
  if (!s.name) {
    return 'the user who logs in next (no one is logged in now)';
  }
  const r = s.selectedRole;
  return r ? `${s.name}, ${r.jobRole[2] ?? r.id} at ${r.orgName}` : `${s.name} (no role selected)`;
}

/** A local file that sends the browser to the page link, so that the secret never appears in a command line. */
function openHtml(pageUrl: string): string {
  const safe = pageUrl.replace(/[&<>"']/g, '');
  return `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${safe}"><title>rxsign agent</title><p>Opening the rxsign agent page…</p>\n`;
}

/** Removes a runtime file only if it still holds what this agent wrote (another start may have replaced it). */
function removeIfOurs(path: string, marker: string): void {
  try {
    if (readFileSync(path, 'utf8').includes(marker)) {
      rmSync(path, { force: true });
    }
  } catch {
    // already gone
  }
}

/** The signing service, its audit log and its router, for the configured card or the card present now. */
async function startSigning(
  config: Config,
  logger: Logger,
  agent: Agent,
  port: TokenPort,
  gate: Gate,
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
  const audit = await openAuditLog(config.auditLogPath, {
    reserveBytes: config.auditReserveMiB * 1024 * 1024,
  });
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
    gate,
    signWithoutRole: config.signWithoutRole,
    prescriberRoles: config.prescriberRoles,
    roleProvider: () => {
      const s = agent.status();
      return s.uid
        ? {
            uid: s.uid,
            ...(s.selectedRole
              ? { roleId: s.selectedRole.id, jobRole: s.selectedRole.jobRole[2] }
              : {}),
          }
        : undefined;
    },
  };
  return { service, audit, routes };
}
