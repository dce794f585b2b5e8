/**
 * The Spine Security Broker simulator's public surface (docs/spine-sim.md): start it, build its express app,
 * load its users, trust and CRLs. Its routes, sessions and replies stay internal. The simulator is a separate
 * program: the agent never imports it (only the CLI's `spine-sim` and `demo` commands, and tests).
 */
export { startSpineSim, type RunningSpineSim, type StartSpineSimOptions } from './server.js';
export {
  createSpineSimApp,
  DEFAULT_BODY_LIMIT,
  type SpineSimApp,
  type SpineSimOptions,
} from './app.js';
export type { SimAdmin } from './admin.js';
export { loadCrlDir, loadTrustDir, trustFromCertificates, type TrustStore } from './trust.js';
export {
  cardCertificateRefusal,
  type CardCertificateContext,
  type CertificateRefusal,
  type CertificateRefusalCode,
} from './card-certificate.js';
export { loadUsersFile, parseUsers, type SimRole, type SimUser } from './users.js';
export {
  LOGIN_REJECTIONS,
  SPINE_SIM_ERRORS,
  simError,
  type LoginRejectionCode,
  type SpineSimErrorCode,
} from './errors.js';
export { FAULT_KINDS, type FaultKind, type FaultSpec } from './faults.js';
export { DEFAULT_SESSION_LIMITS, type SessionLimits } from './sessions.js';
export {
  ATTR_NS,
  SAML_NS,
  SAMLP_NS,
  buildRoleAssertion,
  buildRoleAssertionError,
  type RoleAssertion,
  type RoleAssertionContext,
  type SamlRole,
} from './saml.js';
export { newTicket } from './sessions.js';
