/**
 * The CIS2 simulator's public surface (a separate program: the agent never imports it; the demo and
 * `rxsign cis2-sim` in src/cli start it). Its codes are its own table, not the agent's registry
 * (docs/cis2-sign-in.md lists them). The provider adapter, claims and pages stay internal.
 */
export {
  CIS2_BASE_PATH,
  DEFAULT_AGENT_URL,
  createCis2SimApp,
  issuerFor,
  type Cis2SimApp,
  type Cis2SimOptions,
} from './app.js';
export { startCis2Sim, type RunningCis2Sim, type StartCis2SimOptions } from './server.js';
export {
  loadClientsFile,
  parseClients,
  type Cis2ClientEntry,
  type ClientMetadata,
} from './clients.js';
export {
  CARD_REFUSALS,
  CIS2_SIM_ERRORS,
  cis2SimError,
  type CardRefusalCode,
  type Cis2SimErrorCode,
} from './errors.js';
