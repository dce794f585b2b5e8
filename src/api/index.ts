/**
 * The HTTP layer's public surface: the express shell (loopback, origin and body rules, one error handler),
 * the routers the composition root (src/agent.ts) mounts, and the one error registry (docs/errors.md).
 */
export { createApp, type AppOptions } from './app.js';
export { agentRouters } from './routers.js';
export { cis2Router } from './routes/cis2.js';
export { pageRouter } from './routes/page.js';
export { signRouter, type SignRouterDeps } from './routes/sign.js';
export { ticketRouter } from './routes/ticket.js';
export { verifyRouter } from './routes/verify.js';
export { API_ERRORS, apiError, type ApiErrorCode } from './errors.js';
export {
  ERROR_REGISTRY,
  errorResponse,
  errorSpec,
  type ErrorBody,
  type ServiceErrorCode,
} from './error-registry.js';
export { renderErrorsDoc } from './errors-doc.js';
export {
  approvalGate,
  helloProof,
  matchKey,
  pageSecret,
  type AccessOptions,
  type Caller,
  type Gate,
  type KeyTable,
} from './access.js';
export {
  Approvals,
  question,
  type ApprovalList,
  type ApprovalWhat,
  type ApprovalsOptions,
  type Choice,
  type Outcome,
  type PendingApproval,
  type RememberedApproval,
} from './approvals.js';
export { approvalsRouter } from './routes/approvals.js';
export { auditRouter } from './routes/audit.js';
