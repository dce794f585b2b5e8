/**
 * EPS checks 6–9 with the gaps of docs/protocol/eps-signing.md §2.5 closed, then key usage and algorithm policy. Rules,
 * in report order:
 * - 6 the signer certificate is not revoked on its issuer's CRL (signature checked, EPS reason/date rule)
 *   → REVOKED "Certificate is revoked"; no usable CRL → TRY_LATER (indeterminate under 'require');
 * - 7 no CA of the path is revoked on its issuer's ARL, nor the top CA on an anchor's ARL (anchor-revocation.ts)
 *   → REVOKED "CA certificate is revoked";
 * - 8 the signer certificate's validity period AND its PrivateKeyUsagePeriod contain the signing time, and
 *   so does every CA's validity → EXPIRED / NOT_YET_VALID "Certificate expired when signed";
 * - 9 a path to a configured trust anchor exists (NO_CERTIFICATE_CHAIN_FOUND; INDETERMINATE when no anchor is
 *   configured at all, FAILED otherwise), every certificate's
 *   signature verifies with its issuer's key (CERTIFICATE_CHAIN_GENERAL_FAILURE), every issuer is a CA that
 *   may sign certificates (CHAIN_CONSTRAINTS_FAILURE) → "Certificate not trusted";
 * - the signer certificate has keyUsage nonRepudiation → CHAIN_CONSTRAINTS_FAILURE;
 * - a revocation check that cannot be made because the signer certificate is itself an anchor, or the ARL of
 *   an anchor that is not self-signed is missing, follows the revocation policy (never a silent skip);
 * - algorithm policy: SHA-1 (SignedInfo or certificate signatures) unless `allowSha1`, RSA keys below
 *   `minRsaBits` → CRYPTO_CONSTRAINTS_FAILURE.
 * The checks that follow from the path result alone are derived once per path result (the Verifier caches
 * path results), the others for each document.
 */
import type { CertificateInfo } from '../cms/certificate.js';
import type { CrlInfo } from '../cms/crl.js';
import type { PathResult, RevocationPolicy } from '../cms/path.js';
import type { Check } from '../cms/report.js';
import { anchorRevocation } from './anchor-revocation.js';
import { EPS_MESSAGES, OWN_MESSAGES } from './messages.js';

export interface CertificateCheckInput {
  readonly certificate: CertificateInfo;
  readonly at: Date;
  readonly path: PathResult;
  /** 'RS1' | 'RS256' of the SignedInfo; undefined when not on the allowlist. */
  readonly algorithm: 'RS1' | 'RS256' | undefined;
  readonly allowSha1: boolean;
  readonly minRsaBits: number;
  readonly anchors: readonly CertificateInfo[];
  readonly crls: readonly CrlInfo[];
  readonly now: Date;
  /** Default 'require'. */
  readonly revocation?: RevocationPolicy;
}

/**
 * A check that could not be made: what the revocation policy says of missing revocation data
 * ('require' → indeterminate TRY_LATER, 'if-available' → warning, 'off' → skipped, as the user asked).
 */
function notChecked(id: string, title: string, message: string, policy: RevocationPolicy): Check {
  return policy === 'require'
    ? { id, title, status: 'indeterminate', subIndication: 'TRY_LATER', message }
    : policy === 'if-available'
      ? { id, title, status: 'warning', message }
      : { id, title, status: 'skipped', message };
}

const index = (id: string): number => Number(/\[(\d+)\]/.exec(id)?.[1] ?? '-1');

function withMessage(c: Check, message: string): Check {
  return c.status === 'failed'
    ? { ...c, message }
    : c.status === 'indeterminate' || c.status === 'warning'
      ? { ...c, message: OWN_MESSAGES.revocationUnavailable }
      : c;
}

function revocation(
  path: PathResult,
  leaf: boolean,
  built: boolean,
  leafIsAnchor: boolean,
): Check[] {
  const own = path.checks.filter(
    (c) => c.id.startsWith('path.revocation[') && (index(c.id) === 0) === leaf,
  );
  if (own.length > 0) {
    return own.map((c) =>
      c.id.includes('.crl-')
        ? c
        : withMessage(c, leaf ? EPS_MESSAGES.revoked : EPS_MESSAGES.caRevoked),
    );
  }
  const id = leaf ? 'path.revocation[0]' : 'path.revocation[ca]';
  const title = leaf ? 'signer certificate not revoked' : 'CA certificate not revoked';
  const message = !built
    ? OWN_MESSAGES.noPath
    : leafIsAnchor
      ? OWN_MESSAGES.anchorLeaf
      : 'no CA certificate below the anchor';
  return [{ id, title, status: 'skipped', message }];
}

function period(
  id: string,
  title: string,
  t: number,
  from: Date | undefined,
  to: Date | undefined,
): Check {
  if (from !== undefined && t < from.getTime()) {
    return {
      id,
      title,
      status: 'failed',
      subIndication: 'NOT_YET_VALID',
      message: EPS_MESSAGES.expired,
    };
  }
  if (to !== undefined && t > to.getTime()) {
    return { id, title, status: 'failed', subIndication: 'EXPIRED', message: EPS_MESSAGES.expired };
  }
  return { id, title, status: 'passed' };
}

/**
 * The certificate part of a prescription signature report, in EPS order.
 *
 * @example
 * ```ts
 * checks.push(...certificateChecks({ certificate, at, path, algorithm: 'RS256', allowSha1: false, minRsaBits: 2048 }));
 * ```
 */
export function certificateChecks(input: CertificateCheckInput): Check[] {
  const { certificate: cert, path } = input;
  const fromPath = pathChecksOf(path);
  const t = input.at.getTime();
  const revocationPolicy = input.revocation ?? 'require';
  const checks: Check[] = [
    ...fromPath.revocation.map((c) =>
      c.status === 'skipped' && c.message === OWN_MESSAGES.anchorLeaf
        ? notChecked(c.id, c.title, OWN_MESSAGES.anchorLeafRevocation, revocationPolicy)
        : c,
    ),
    anchorRevocation(
      fromPath.built ? path.chain : [],
      input.anchors,
      input.crls,
      input.at,
      input.now,
      revocationPolicy,
    ),
  ];
  checks.push(
    period(
      'signer.validity',
      'signer certificate valid when signed',
      t,
      cert.notBefore,
      cert.notAfter,
    ),
  );
  const pkup = cert.privateKeyUsagePeriod;
  checks.push(
    period(
      'signer.private-key-usage-period',
      'private key usage period contains the signing time',
      t,
      pkup?.notBefore,
      pkup?.notAfter,
    ),
  );
  // No anchors at all (path.ts): INDETERMINATE with our message, not EPS's "Certificate not trusted".
  checks.push(
    ...fromPath.validityAndTrust.map((c) =>
      input.anchors.length === 0 && c.id === 'path.build' && c.status === 'indeterminate'
        ? { ...c, message: OWN_MESSAGES.noAnchors }
        : c,
    ),
  );
  checks.push(
    cert.keyUsage?.nonRepudiation === true
      ? { id: 'signer.key-usage', title: 'signer key usage nonRepudiation', status: 'passed' }
      : {
          id: 'signer.key-usage',
          title: 'signer key usage nonRepudiation',
          status: 'failed',
          subIndication: 'CHAIN_CONSTRAINTS_FAILURE',
          message: OWN_MESSAGES.keyUsage,
        },
  );
  const policy = { id: 'policy.signature', title: 'signature algorithm policy' } as const;
  const weakKey = cert.publicKey.algorithm === 'RSA' && cert.publicKey.bits < input.minRsaBits;
  checks.push(
    input.algorithm === undefined
      ? {
          ...policy,
          status: 'failed',
          subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
          message: OWN_MESSAGES.algorithm,
        }
      : input.algorithm === 'RS1' && !input.allowSha1
        ? {
            ...policy,
            status: 'failed',
            subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
            message: OWN_MESSAGES.sha1,
          }
        : weakKey
          ? {
              ...policy,
              status: 'failed',
              subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
              message: OWN_MESSAGES.rsaSize,
            }
          : { ...policy, status: 'passed' },
  );
  checks.push(...fromPath.crypto);
  return checks;
}

interface PathChecks {
  readonly built: boolean;
  /** Checks 6 and 7 from the path (leaf, then CAs). */
  readonly revocation: readonly Check[];
  /** The CAs' validity (check 8), then the path's trust checks (9). */
  readonly validityAndTrust: readonly Check[];
  readonly crypto: readonly Check[];
}

const pathChecks = new WeakMap<PathResult, PathChecks>();

/** The report checks that depend on the path result alone, derived once per (cached) path result. */
function pathChecksOf(path: PathResult): PathChecks {
  const known = pathChecks.get(path);
  if (known !== undefined) {
    return known;
  }
  const built = path.checks.some((c) => c.id === 'path.build' && c.status === 'passed');
  const leafIsAnchor = built && path.chain.length === 1;
  const validityAndTrust: Check[] = path.checks
    .filter((c) => c.id.startsWith('path.validity[') && index(c.id) > 0)
    .map((c) => withMessage(c, EPS_MESSAGES.expired));
  for (const c of path.checks) {
    if (c.id === 'path.build' || c.id.startsWith('path.issuer-ca[')) {
      validityAndTrust.push(withMessage(c, EPS_MESSAGES.notTrusted));
    } else if (c.id.startsWith('path.signature[')) {
      validityAndTrust.push(
        c.status === 'failed' && c.subIndication === 'SIG_CRYPTO_FAILURE'
          ? {
              ...c,
              subIndication: 'CERTIFICATE_CHAIN_GENERAL_FAILURE',
              message: EPS_MESSAGES.notTrusted,
            }
          : withMessage(c, EPS_MESSAGES.notTrusted),
      );
    }
  }
  const derived: PathChecks = {
    built,
    revocation: [
      ...revocation(path, true, built, leafIsAnchor),
      ...revocation(path, false, built, leafIsAnchor),
    ],
    validityAndTrust,
    crypto: path.checks.filter((c) => c.id.startsWith('path.crypto[')),
  };
  pathChecks.set(path, derived);
  return derived;
}
