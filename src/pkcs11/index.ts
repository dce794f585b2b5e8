// The token layer's public surface. Nothing from graphene or pkcs11js is exported.
export { DEFAULT_SESSIONS, openTokenPort, type WorkerPortOptions } from './worker-port.js';
export type { TokenPort } from './port.js';
export {
  DEFAULT_MECHANISMS,
  type CardCertificate,
  type CardEvent,
  type CertificatePurpose,
  type LoginState,
  type SignMechanism,
  type SignRequest,
  type SlotInfo,
  type TokenFlags,
  type TokenInfo,
  type TokenSelector,
} from './types.js';
export { PKCS11_ERRORS, pkcs11Error, type Pkcs11ErrorCode } from './errors.js';
export { keyUsageOf, purposeOf } from './key-usage.js';
export { digestInfo } from './digest-info.js';
export { CKF_OS_LOCKING_OK } from './constants.js';
