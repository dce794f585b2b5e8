/**
 * The agent's routers, in mounting order, from the parts they serve: the composition root (src/agent.ts)
 * mounts them and `npm run docs:openapi` documents the same list (with every optional router on), so the
 * served document and docs/openapi.json come from one place.
 */
import type { Agent } from '../auth/index.js';
import { createEventBus } from '../events.js';
import type { TokenPort } from '../pkcs11/index.js';
import type { SigningService } from '../signing/index.js';
import { createVerifier, type Verifier } from '../verify/index.js';
import { apiDocument } from './app.js';
import { Approvals } from './approvals.js';
import type { Gate } from './access.js';
import { approvalsRouter } from './routes/approvals.js';
import { auditRouter } from './routes/audit.js';
import { cis2Router, type Cis2RouterOptions } from './routes/cis2.js';
import { pageRouter } from './routes/page.js';
import { signRouter, type SignRouterDeps } from './routes/sign.js';
import { statusRouter, type StatusRouter, type StatusRouterDeps } from './routes/status.js';
import { ticketRouter } from './routes/ticket.js';
import { verifyRouter } from './routes/verify.js';
import type { ApiRouter } from './route-table.js';

export interface AgentRouterDeps {
  readonly agent: Agent;
  /** The user's approval of a web page (access.ts), for the ticket and signing routes. */
  readonly gate: Gate;
  readonly verifier: Verifier;
  readonly approvals: Approvals;
  /** The audit log the page's history reads. */
  readonly auditLogPath: () => string | undefined;
  /** The CIS2-style sign-in's card assertion (docs/cis2-sign-in.md). */
  readonly cis2: Cis2RouterOptions;
  /** The signing routes' parts; absent = signing off (no card configured or present). */
  readonly signing?: SignRouterDeps;
  readonly status: StatusRouterDeps;
}

/** Every router of the agent, and the status router (whose event streams the agent closes). */
export function agentRouters(d: AgentRouterDeps): {
  routers: ApiRouter[];
  status: StatusRouter;
} {
  const status = statusRouter(d.status);
  return {
    routers: [
      pageRouter(),
      status,
      ticketRouter(d.agent, d.gate),
      verifyRouter(d.verifier),
      approvalsRouter(d.approvals),
      auditRouter(d.auditLogPath),
      cis2Router(d.cis2),
      ...(d.signing ? [signRouter(d.signing)] : []),
    ],
    status,
  };
}

/**
 * Every router with every optional one on, built on placeholders: for documentation only (the handlers are
 * never run, so no card, broker or service is needed).
 */
export function documentationRouters(version: string): ApiRouter[] {
  const unused = undefined as unknown;
  return agentRouters({
    agent: unused as Agent,
    gate: () => Promise.resolve({}),
    verifier: createVerifier({}),
    approvals: new Approvals(),
    auditLogPath: () => undefined,
    cis2: { agent: unused as Agent, port: unused as TokenPort, cas: () => [] },
    signing: {
      service: unused as SigningService,
      roleProvider: () => undefined,
      signWithoutRole: false,
      prescriberRoles: [],
    },
    status: {
      version,
      session: () => ({ state: 'no-card', roles: [] }),
      broker: () => ({ url: '', reachable: null }),
      signing: true,
      bus: createEventBus(),
    },
  }).routers;
}

/** The agent's OpenAPI document (docs/openapi.json): every route, signing included. */
export function agentApiDocument(version: string): ReturnType<typeof apiDocument> {
  return apiDocument(documentationRouters(version), version);
}
