/**
 * Verification report types shared by CMS and prescription verification, modelled on the EU DSS simple
 * report (ETSI EN 319 102-1 indications), and the one rule that turns ordered checks into an indication.
 *
 * Rules:
 * - the first `failed` check decides: TOTAL_FAILED with that check's sub-indication;
 * - otherwise the first `indeterminate` check decides: INDETERMINATE with its sub-indication;
 * - otherwise TOTAL_PASSED (`warning` and `skipped` checks never change the indication).
 */

export type Indication = 'TOTAL_PASSED' | 'TOTAL_FAILED' | 'INDETERMINATE';

export type SubIndication =
  | 'FORMAT_FAILURE'
  | 'HASH_FAILURE'
  | 'SIG_CRYPTO_FAILURE'
  | 'REVOKED'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'NO_CERTIFICATE_CHAIN_FOUND'
  | 'TRY_LATER'
  | 'CRYPTO_CONSTRAINTS_FAILURE'
  | 'CHAIN_CONSTRAINTS_FAILURE'
  /** A certificate in the chain does not carry a valid signature of its issuer (DSS XCV). */
  | 'CERTIFICATE_CHAIN_GENERAL_FAILURE'
  | 'SIG_CONSTRAINTS_FAILURE'
  | 'SIGNED_DATA_NOT_FOUND'
  | 'NO_SIGNING_CERTIFICATE_FOUND'
  | 'REVOKED_CA_NO_POE'
  | 'OUT_OF_BOUNDS_NO_POE';

export type CheckStatus = 'passed' | 'failed' | 'indeterminate' | 'warning' | 'skipped';

export interface Check {
  /** Stable machine id, e.g. `cms.message-digest`, `path.signature[1]`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly message?: string;
  /** The sub-indication this check gives when it is the deciding failed/indeterminate check. */
  readonly subIndication?: SubIndication;
}

export interface ChainEntry {
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface VerificationReport {
  readonly format: string;
  readonly indication: Indication;
  readonly subIndication?: SubIndication;
  readonly signer?: {
    readonly name: string;
    readonly uid?: string;
    readonly certificateSerial: string;
    readonly issuer: string;
  };
  /** ISO 8601. */
  readonly signingTime?: string;
  readonly chain: readonly ChainEntry[];
  readonly checks: readonly Check[];
}

/**
 * Derives the indication from ordered checks: first failure wins, otherwise first indeterminate.
 *
 * @example
 * ```ts
 * conclude([{ id: 'a', title: 'A', status: 'passed' }, { id: 'b', title: 'B', status: 'failed', subIndication: 'HASH_FAILURE' }]);
 * // { indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' }
 * ```
 */
export function conclude(checks: readonly Check[]): {
  indication: Indication;
  subIndication?: SubIndication;
} {
  const failed = checks.find((c) => c.status === 'failed');
  if (failed !== undefined) {
    return failed.subIndication === undefined
      ? { indication: 'TOTAL_FAILED' }
      : { indication: 'TOTAL_FAILED', subIndication: failed.subIndication };
  }
  const unsure = checks.find((c) => c.status === 'indeterminate');
  if (unsure !== undefined) {
    return unsure.subIndication === undefined
      ? { indication: 'INDETERMINATE' }
      : { indication: 'INDETERMINATE', subIndication: unsure.subIndication };
  }
  return { indication: 'TOTAL_PASSED' };
}

/**
 * Builds a frozen report from ordered checks and the facts found along the way.
 *
 * @example
 * ```ts
 * const report = buildReport({ format: 'CMS', checks, chain: [] });
 * report.indication; // 'TOTAL_PASSED' when no check failed
 * ```
 */
export function buildReport(parts: {
  format: string;
  checks: readonly Check[];
  chain: readonly ChainEntry[];
  signer?: VerificationReport['signer'];
  signingTime?: Date;
}): VerificationReport {
  const verdict = conclude(parts.checks);
  return Object.freeze({
    format: parts.format,
    ...verdict,
    ...(parts.signer === undefined ? {} : { signer: Object.freeze({ ...parts.signer }) }),
    ...(parts.signingTime === undefined ? {} : { signingTime: parts.signingTime.toISOString() }),
    chain: Object.freeze(parts.chain.map((c) => Object.freeze({ ...c }))),
    checks: Object.freeze(parts.checks.map((c) => Object.freeze({ ...c }))),
  });
}

/** Chain entry of the report from certificate facts. */
export function chainEntry(c: {
  subject: string;
  issuer: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}): ChainEntry {
  return {
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serialHex,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
  };
}
