/**
 * The auth folder's public surface: the login agent (card → Spine Security Broker session → Ticket API), the
 * broker client, the error codes with their Ticket API names, and the CIS wire codecs (gpOBJECT, challenge,
 * signed response, role lines) that the Spine simulator shares with the agent so that both speak one wire.
 */
export { Agent, type AgentOptions, type AgentState, type SessionStatus } from './agent.js';
export { SsbClient, type Fetch, type SsbClientOptions } from './ssb-client.js';
export { AUTH_ERRORS, TICKET_API, authError, type AuthErrorCode } from './errors.js';
export { WIRE_ERRORS, wireError, type WireError, type WireErrorCode } from './wire/errors.js';
export {
  DEFAULT_CHALLENGE_MAX_AGE_MS,
  constantEquals,
  createChallenge,
  verifyChallenge,
  type IssuedChallenge,
} from './wire/challenge.js';
export {
  SERVER_DOCTYPE,
  buildActivateRequest,
  buildGpObject,
  buildLogoutRequest,
  buildValidateRequest,
  decodeEntities,
  gpParamMap,
  parseGpObject,
  type ClientIdentity,
  type GpParam,
  type GpParamInput,
} from './wire/gpobject.js';
export { buildAuthResponse, decodeAuthResponse } from './wire/response.js';
export { formatRoleText, parseRoles, type AuthRole } from './wire/roles.js';
