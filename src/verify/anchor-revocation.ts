/**
 * EPS check 7 for the CA at the top of the path (docs/protocol/eps-signing.md §2.5 "ARL"). Path validation trusts an anchor
 * as configured (RFC 5280 §6.1.1 (d)); EPS instead looks the signer's sub-CA up on the ARL. Rules:
 * - only when the path has a CA (the anchor is not the signer itself);
 * - a CRL is used when it names the anchor's issuer, its signature verifies with the key of a configured anchor
 *   with that name (AKID/SKID when present), and it is not stale (nextUpdate ≥ now);
 * - the EPS reason/date rule (crl.ts revocationStatus) at the signing time → REVOKED "CA certificate is revoked";
 * - no usable ARL: for a self-signed anchor (a root, nothing above it) → `skipped`; for an anchor that is a
 *   sub-CA (EPS trusts its configured sub-CAs) the revocation policy decides: 'require' → INDETERMINATE
 *   TRY_LATER, 'if-available' → warning, 'off' → skipped.
 */
import type { CertificateInfo } from '../cms/certificate.js';
import {
  crlMatchesIssuer,
  revocationStatus,
  verifyCrlSignature,
  type CrlInfo,
} from '../cms/crl.js';
import type { RevocationPolicy } from '../cms/path.js';
import type { Check } from '../cms/report.js';
import { EPS_MESSAGES, OWN_MESSAGES } from './messages.js';

/**
 * @example
 * ```ts
 * checks.push(anchorRevocation(path.chain, anchors, crls, signingTime, new Date()));
 * ```
 */
export function anchorRevocation(
  chain: readonly CertificateInfo[],
  anchors: readonly CertificateInfo[],
  crls: readonly CrlInfo[],
  at: Date,
  now: Date,
  policy: RevocationPolicy = 'require',
): Check {
  const id = 'eps.ca-revoked';
  const title = 'CA certificate not on the ARL';
  const top = chain[chain.length - 1];
  if (chain.length < 2 || top === undefined) {
    return { id, title, status: 'skipped', message: 'no CA certificate in the path' };
  }
  const usable = crls.filter(
    (crl) =>
      (crl.nextUpdate === undefined || crl.nextUpdate.getTime() >= now.getTime()) &&
      anchors.some(
        (a) => a.subject === top.issuer && crlMatchesIssuer(crl, a) && verifyCrlSignature(crl, a),
      ),
  );
  if (usable.length === 0) {
    if (top.subject === top.issuer || policy === 'off') {
      return { id, title, status: 'skipped', message: 'no ARL for the trust anchor' };
    }
    return policy === 'require'
      ? {
          id,
          title,
          status: 'indeterminate',
          subIndication: 'TRY_LATER',
          message: OWN_MESSAGES.revocationUnavailable,
        }
      : { id, title, status: 'warning', message: OWN_MESSAGES.revocationUnavailable };
  }
  return usable.some((crl) => revocationStatus(crl, top.serialHex, at).revoked)
    ? { id, title, status: 'failed', subIndication: 'REVOKED', message: EPS_MESSAGES.caRevoked }
    : { id, title, status: 'passed' };
}
