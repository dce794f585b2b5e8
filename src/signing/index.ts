/**
 * The signing folder's public surface (explicit named exports only).
 *
 * @example
 * ```ts
 * import { createSigningService } from './signing/index.js';
 * const svc = createSigningService({ port, token: { label }, pinPolicy: 'session', audit });
 * ```
 */
export {
  createSigningService,
  type EpsBatchRequest,
  type EpsBatchResult,
  type EpsDigestResult,
  type Hl7SignResult,
  type SignCaller,
  type SigningService,
  type SigningServiceOptions,
} from './service.js';
export {
  openCardSession,
  type CardSession,
  type CardSessionOptions,
  type PinPolicy,
  type SigningKey,
} from './card-session.js';
export {
  MAX_EPS_BATCH,
  checkDistinctIds,
  decodeEpsPayload,
  parseEpsAlgorithm,
  xmlDsigSignature,
  type EpsAlgorithm,
} from './eps.js';
export { provenanceEntry, type ProvenanceEntry } from './provenance.js';
export { MAX_HL7_BYTES, checkSignedHl7, placeSignature, prepareHl7 } from './hl7.js';
export { MAX_CMS_CONTENT_BYTES, signContentCms, type CmsSignOptions } from './cms.js';
export {
  checkCertificateUsage,
  checkSigningPolicy,
  loadSigningTrust,
  type SigningTrust,
} from './policy.js';
export { SIGN_ERRORS, signError, type SignErrorCode } from './errors.js';
export { DEFAULT_PRESCRIBER_ROLES, isPrescriberRole, type RoleFacts } from './prescriber.js';
