/**
 * The agent's feature routers (verification; signing), built from configuration. Kept apart from the agent's
 * core so that `rxsign serve` and `rxsign demo` share one list.
 */
import type { Router } from 'express';
import type { Logger } from 'pino';
import { signRouter } from '../api/routes/sign.js';
import { verifyRouter } from '../api/routes/verify.js';
import { openAuditLog } from '../audit/index.js';
import { createSigningService, loadSigningTrust } from '../signing/index.js';
import type { Agent } from '../auth/agent.js';
import type { Config } from '../config.js';
import type { TokenPort } from '../pkcs11/index.js';
import { createVerifier, loadTrustStore } from '../verify/index.js';

export interface RouteDeps {
  readonly agent: Agent;
  readonly port: TokenPort;
  readonly config: Config;
  readonly logger: Logger;
}

/** Verification always; signing with the configured card (or the card present at start), audited. */
export async function featureRouters(
  deps: RouteDeps,
): Promise<{ routers: Router[]; close: () => Promise<void> }> {
  const trust = await loadTrustStore({
    trustDirs: deps.config.trustDir ? [deps.config.trustDir] : [],
    crlDirs: deps.config.crlDir ? [deps.config.crlDir] : [],
  });
  const verifier = createVerifier({
    anchors: trust.anchors,
    intermediates: trust.intermediates,
    crls: trust.crls,
  });
  const routers: Router[] = [verifyRouter(verifier)];
  const card = deps.config.tokenLabel
    ? { label: deps.config.tokenLabel }
    : deps.agent.card
      ? { serial: deps.agent.card.serial }
      : undefined;
  if (!card) {
    deps.logger.warn(
      'no card configured (RXSIGN_TOKEN) or present at start: the signing routes are off',
    );
    return { routers, close: async () => undefined };
  }
  const audit = await openAuditLog(deps.config.auditLogPath);
  const service = createSigningService({
    port: deps.port,
    token: card,
    pinPolicy: deps.config.pinPolicy,
    audit,
    trust: await loadSigningTrust({
      ...(deps.config.trustDir ? { trustDir: deps.config.trustDir } : {}),
      ...(deps.config.crlDir ? { crlDir: deps.config.crlDir } : {}),
    }),
  });
  routers.push(
    signRouter({
      service,
      signWithoutRole: deps.config.signWithoutRole,
      roleProvider: () => {
        const s = deps.agent.status();
        return s.uid
          ? { uid: s.uid, ...(s.selectedRole ? { roleId: s.selectedRole.id } : {}) }
          : undefined;
      },
    }),
  );
  return {
    routers,
    close: async () => {
      await service.close();
      await audit.close();
    },
  };
}
