/**
 * The Credential Management drop-in's public surface (docs/cm.md): the port service and the classic
 * SignalR `signingHub` that NHS's browser library calls.
 */
export {
  CM_PORTS,
  startCmService,
  type CmServiceOptions,
  type RunningCmService,
} from './server.js';
export { hubRequestHandler, type ApprovalAnswer, type HubDeps } from './hub.js';
export {
  CM_STATUS,
  MAX_HUB_PAYLOADS,
  decodeSignRequest,
  type HubResponse,
  type SignRequest,
} from './request.js';
