/**
 * The agent's feature routers (verification; signing), built from configuration. Kept apart from the agent's
 * core so that `rxsign serve` and `rxsign demo` share one list.
 */
import type { Router } from 'express';
import { verifyRouter } from '../api/routes/verify.js';
import type { Agent } from '../auth/agent.js';
import type { Config } from '../config.js';
import type { TokenPort } from '../pkcs11/index.js';
import { createVerifier, loadTrustStore } from '../verify/index.js';

export interface RouteDeps {
  readonly agent: Agent;
  readonly port: TokenPort;
  readonly config: Config;
}

export async function featureRouters(deps: RouteDeps): Promise<Router[]> {
  const trust = await loadTrustStore({
    trustDirs: deps.config.trustDir ? [deps.config.trustDir] : [],
    crlDirs: deps.config.crlDir ? [deps.config.crlDir] : [],
  });
  const verifier = createVerifier({ anchors: trust.anchors, intermediates: trust.intermediates, crls: trust.crls });
  return [verifyRouter(verifier)];
}
