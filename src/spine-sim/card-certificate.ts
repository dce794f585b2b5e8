/**
 * The certificate rules both simulators apply to a card's authentication certificate: the Security Broker's
 * authvalidate (login-check.ts, steps 7 and 8) and the CIS2 simulator's card assertion
 * (src/cis2-sim/card-check.ts, steps 8 and 9). Each simulator turns a refusal into its own answer, with its
 * own wording (docs/spine-sim.md, docs/cis2-sign-in.md).
 *
 * Rules:
 * - a certificate with a keyUsage extension must allow digitalSignature (RFC 5280 §4.2.1.3): CERT_KEY_USAGE;
 * - the certificate must chain to a configured anchor, every signature, validity and CRL checked at the
 *   simulator's clock (RFC 5280 §6): a revoked certificate (or a revoked CA) is CERT_REVOKED, an expired one
 *   CERT_EXPIRED, one not yet valid CERT_NOT_YET_VALID, any other failure CERT_UNTRUSTED;
 * - certificates the client sends are only candidate intermediates: the anchor must be configured;
 * - RSA-1024 and SHA-1 certificate signatures are accepted only when the simulator allows legacy crypto.
 */
import {
  validateCertificatePath,
  type CertificateInfo,
  type CrlInfo,
  type RevocationPolicy,
} from '../cms/index.js';
import type { TrustStore } from './trust.js';

/** Why a card certificate was refused. */
export type CertificateRefusalCode =
  'CERT_UNTRUSTED' | 'CERT_EXPIRED' | 'CERT_NOT_YET_VALID' | 'CERT_REVOKED' | 'CERT_KEY_USAGE';

/** A refused certificate: the code, and for the log what path validation said. */
export interface CertificateRefusal {
  readonly code: CertificateRefusalCode;
  readonly detail?: string;
}

/** What the check needs of a simulator's configuration. */
export interface CardCertificateContext {
  readonly trust: TrustStore;
  readonly crls: readonly CrlInfo[];
  readonly revocation: RevocationPolicy;
  /** Accept RSA-1024 and SHA-1 certificate signatures, as the INT PKI had (docs/protocol/cis-login.md §5). */
  readonly allowLegacyCrypto: boolean;
}

const PATH_REFUSAL: Readonly<Record<string, CertificateRefusalCode>> = {
  REVOKED: 'CERT_REVOKED',
  REVOKED_CA_NO_POE: 'CERT_REVOKED',
  EXPIRED: 'CERT_EXPIRED',
  OUT_OF_BOUNDS_NO_POE: 'CERT_EXPIRED',
  NOT_YET_VALID: 'CERT_NOT_YET_VALID',
};

/**
 * Checks a card's certificate at `now` (Unix ms), with the certificates the client `sent` as candidate
 * intermediates; undefined when it passes, else the refusal.
 *
 * @example
 * ```ts
 * const refusal = await cardCertificateRefusal(cert, ctx, { now: ctx.now() });
 * if (refusal) throw new LoginRejected(refusal.code);
 * ```
 */
export async function cardCertificateRefusal(
  cert: CertificateInfo,
  ctx: CardCertificateContext,
  opts: { readonly now: number; readonly sent?: readonly CertificateInfo[] },
): Promise<CertificateRefusal | undefined> {
  if (cert.keyUsage !== undefined && !cert.keyUsage.digitalSignature) {
    return { code: 'CERT_KEY_USAGE' };
  }
  const path = await validateCertificatePath(cert, {
    anchors: ctx.trust.anchors,
    intermediates: [...ctx.trust.intermediates, ...(opts.sent ?? [])],
    crls: ctx.crls,
    at: new Date(opts.now),
    now: () => new Date(opts.now),
    revocation: ctx.revocation,
    ...(ctx.allowLegacyCrypto ? { allowSha1: true, minRsaBits: 1024 } : {}),
  });
  if (path.status === 'valid') {
    return undefined;
  }
  return {
    code: PATH_REFUSAL[path.subIndication ?? ''] ?? 'CERT_UNTRUSTED',
    detail: `path ${path.status} ${path.subIndication ?? ''}`,
  };
}
