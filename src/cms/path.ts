/**
 * Certificate path building and validation (RFC 5280 §6, simplified to the NHS two-level hierarchy).
 *
 * Rules:
 * - the chain is built from the leaf up by issuer name = subject name, and AKID = SKID when both are present,
 *   through the caller's intermediates to one of the trust anchors (max 8 certificates); none → NO_CERTIFICATE_CHAIN_FOUND
 *   (INDETERMINATE when no anchor is configured at all, FAILED otherwise);
 * - every certificate's signature is verified with its issuer's public key (not metadata only); a bad chain
 *   signature → SIG_CRYPTO_FAILURE; the outcome depends only on the two certificates, so it is cached by the
 *   SHA-256 of both DERs (bounded); validity, policy and revocation are evaluated on every call;
 * - every issuer is a CA (basicConstraints cA), may sign certificates (keyCertSign when keyUsage is present) and
 *   respects pathLenConstraint → otherwise CHAIN_CONSTRAINTS_FAILURE;
 * - crypto policy: RSA keys ≥ `minRsaBits` (default 2048) and no SHA-1 certificate signatures unless
 *   `allowSha1` → otherwise CRYPTO_CONSTRAINTS_FAILURE (the anchor's self-signature is not checked);
 * - each non-anchor certificate is valid at `at` → otherwise NOT_YET_VALID / EXPIRED (anchors are trusted as
 *   configured, RFC 5280 §6.1.1 (d));
 * - revocation of the leaf (its issuer's CRL) and of each sub-CA (the anchor's ARL): see revocation.ts; the CRL
 *   distribution-point URLs of a certificate are fetched only when its issuer's signature on it verifies (the
 *   URLs of a forged certificate would make the verifier request any address, a timeout each);
 * - the outcome is the first failed check, else the first indeterminate one (report.ts `conclude`).
 */
import { signatureHash, verifySignature, type SignatureOutcome } from './algorithms.js';
import { BoundedCache } from './bounded-cache.js';
import { certificateInternals, type CertificateInfo } from './certificate.js';
import type { CrlInfo } from './crl.js';
import { conclude, type Check, type SubIndication } from './report.js';
import { revocationCheck, type RevocationPolicy } from './revocation.js';

export type { RevocationPolicy };

export interface PathOptions {
  readonly anchors: readonly CertificateInfo[];
  readonly intermediates?: readonly CertificateInfo[];
  readonly crls?: readonly CrlInfo[];
  /** The time the path must be valid at (the signing time). */
  readonly at: Date;
  /** Default 'require': missing revocation data → indeterminate TRY_LATER. */
  readonly revocation?: RevocationPolicy;
  readonly fetchCrl?: (url: string) => Promise<Uint8Array | undefined>;
  /** Wall clock for CRL freshness; default `() => new Date()`. */
  readonly now?: () => Date;
  /** Accept SHA-1 certificate signatures (default false). */
  readonly allowSha1?: boolean;
  /** Minimum RSA modulus size of every key in the path (default 2048). */
  readonly minRsaBits?: number;
}

export interface PathResult {
  readonly status: 'valid' | 'invalid' | 'indeterminate';
  readonly subIndication?: SubIndication;
  /** Leaf first, anchor last (as far as it could be built). */
  readonly chain: readonly CertificateInfo[];
  readonly checks: readonly Check[];
}

const MAX_DEPTH = 8;

function issues(issuer: CertificateInfo, cert: CertificateInfo): boolean {
  const a = certificateInternals(issuer);
  const b = certificateInternals(cert);
  if (a.subjectKey !== b.issuerKey) {
    return false;
  }
  return (
    cert.authorityKeyId === undefined ||
    issuer.subjectKeyId === undefined ||
    cert.authorityKeyId === issuer.subjectKeyId
  );
}

/** Outcomes of "issuer's key verifies cert's signature", by `certSha256>issuerSha256`. */
const signatures = new BoundedCache<string, SignatureOutcome>(4096);

function signedBy(cert: CertificateInfo, issuer: CertificateInfo): SignatureOutcome {
  const c = certificateInternals(cert);
  const i = certificateInternals(issuer);
  return signatures.getOrCompute(`${c.fingerprint}>${i.fingerprint}`, () =>
    i.key === undefined
      ? 'unsupported'
      : verifySignature(i.key, c.signatureOid, c.tbs, c.signature),
  );
}

/** Builds leaf → anchor; prefers anchors, then candidates whose signature verifies. */
function buildChain(
  leaf: CertificateInfo,
  anchors: readonly CertificateInfo[],
  pool: readonly CertificateInfo[],
) {
  const isAnchor = (c: CertificateInfo): boolean =>
    anchors.some((a) => a.fingerprintSha256 === c.fingerprintSha256);
  const chain: CertificateInfo[] = [leaf];
  let current = leaf;
  while (!isAnchor(current) && chain.length < MAX_DEPTH) {
    const seen = (c: CertificateInfo): boolean =>
      chain.some((x) => x.fingerprintSha256 === c.fingerprintSha256);
    const candidates = [...anchors, ...pool].filter((c) => !seen(c) && issues(c, current));
    const next = candidates.find((c) => signedBy(current, c) === 'valid') ?? candidates[0];
    if (next === undefined) {
      return { chain, complete: false };
    }
    chain.push(next);
    current = next;
  }
  return { chain, complete: isAnchor(current) };
}

function structuralChecks(chain: readonly CertificateInfo[], opts: PathOptions): Check[] {
  const checks: Check[] = [];
  const minBits = opts.minRsaBits ?? 2048;
  for (let i = 0; i < chain.length - 1; i++) {
    const cert = chain[i];
    const issuer = chain[i + 1];
    if (cert === undefined || issuer === undefined) {
      continue;
    }
    const sig = signedBy(cert, issuer);
    checks.push(
      sig === 'valid'
        ? { id: `path.signature[${i}]`, title: 'certificate signature', status: 'passed' }
        : sig === 'invalid'
          ? {
              id: `path.signature[${i}]`,
              title: 'certificate signature',
              status: 'failed',
              subIndication: 'SIG_CRYPTO_FAILURE',
              message: 'the issuer did not sign this certificate',
            }
          : {
              id: `path.signature[${i}]`,
              title: 'certificate signature',
              status: 'failed',
              subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
              message: 'unsupported signature algorithm',
            },
    );
    const caOk = issuer.isCA && (issuer.keyUsage === undefined || issuer.keyUsage.keyCertSign);
    // pathLenConstraint counts the non-leaf certificates below the issuer (RFC 5280 §4.2.1.9).
    const lenOk = issuer.pathLen === undefined || i <= issuer.pathLen;
    checks.push(
      caOk && lenOk
        ? { id: `path.issuer-ca[${i + 1}]`, title: 'issuer is a CA', status: 'passed' }
        : {
            id: `path.issuer-ca[${i + 1}]`,
            title: 'issuer is a CA',
            status: 'failed',
            subIndication: 'CHAIN_CONSTRAINTS_FAILURE',
            message: caOk ? 'path length exceeded' : 'issuer may not sign certificates',
          },
    );
    const sha1 = signatureHash(certificateInternals(cert).signatureOid) === 'SHA-1';
    const weakKey = cert.publicKey.algorithm === 'RSA' && cert.publicKey.bits < minBits;
    const weakIssuer = issuer.publicKey.algorithm === 'RSA' && issuer.publicKey.bits < minBits;
    checks.push(
      (sha1 && opts.allowSha1 !== true) || weakKey || weakIssuer
        ? {
            id: `path.crypto[${i}]`,
            title: 'certificate algorithms',
            status: 'failed',
            subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
            message:
              sha1 && opts.allowSha1 !== true ? 'SHA-1 certificate signature' : 'RSA key too small',
          }
        : { id: `path.crypto[${i}]`, title: 'certificate algorithms', status: 'passed' },
    );
  }
  for (let i = 0; i < chain.length - 1; i++) {
    const cert = chain[i];
    if (cert === undefined) {
      continue;
    }
    const t = opts.at.getTime();
    const id = `path.validity[${i}]`;
    const title = 'certificate validity period';
    checks.push(
      t < cert.notBefore.getTime()
        ? {
            id,
            title,
            status: 'failed',
            subIndication: 'NOT_YET_VALID',
            message: 'not yet valid at the signing time',
          }
        : t > cert.notAfter.getTime()
          ? {
              id,
              title,
              status: 'failed',
              subIndication: 'EXPIRED',
              message: 'expired at the signing time',
            }
          : { id, title, status: 'passed' },
    );
  }
  return checks;
}

/**
 * Builds and validates the path from `leaf` to one of `opts.anchors` at `opts.at`. Never throws for bad
 * certificates: the outcome is in `status`/`subIndication`, the details in `checks`.
 *
 * @example
 * ```ts
 * const res = await validateCertificatePath(cert, { anchors: [root], intermediates: [signCa], crls, at: new Date() });
 * if (res.status !== 'valid') console.log(res.subIndication); // e.g. 'REVOKED'
 * ```
 */
export async function validateCertificatePath(
  leaf: CertificateInfo,
  opts: PathOptions,
): Promise<PathResult> {
  // Snapshot caller-owned lists before the first await (STYLE §21).
  const anchors = [...opts.anchors];
  const pool = [...(opts.intermediates ?? [])];
  const crls = [...(opts.crls ?? [])];
  const at = new Date(opts.at.getTime());
  const { chain, complete } = buildChain(leaf, anchors, pool);
  const checks: Check[] = [];
  if (!complete) {
    // No anchor configured at all: nothing could be trusted, so nothing was decided (INDETERMINATE);
    // anchors configured but none reached: the certificate is not trusted (FAILED).
    checks.push(
      anchors.length === 0
        ? {
            id: 'path.build',
            title: 'chain to a trust anchor',
            status: 'indeterminate',
            subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
            message: 'no trust anchors configured',
          }
        : {
            id: 'path.build',
            title: 'chain to a trust anchor',
            status: 'failed',
            subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
            message: 'no path to a trust anchor',
          },
    );
    return finish(chain, checks);
  }
  checks.push({ id: 'path.build', title: 'chain to a trust anchor', status: 'passed' });
  checks.push(...structuralChecks(chain, { ...opts, at }));
  const ctx = {
    crls,
    policy: opts.revocation ?? 'require',
    at,
    now: opts.now?.() ?? new Date(),
    fetchCrl: opts.fetchCrl,
  };
  for (let i = 0; i < chain.length - 1; i++) {
    const cert = chain[i];
    const issuer = chain[i + 1];
    if (cert !== undefined && issuer !== undefined) {
      // A certificate the issuer did not sign is the document's word: its CRL URLs are not fetched.
      const own = signedBy(cert, issuer) === 'valid' ? ctx : { ...ctx, fetchCrl: undefined };
      checks.push(...(await revocationCheck(cert, issuer, i, own)));
    }
  }
  return finish(chain, checks);
}

function finish(chain: readonly CertificateInfo[], checks: readonly Check[]): PathResult {
  const { indication, subIndication } = conclude(checks);
  const status =
    indication === 'TOTAL_PASSED'
      ? 'valid'
      : indication === 'TOTAL_FAILED'
        ? 'invalid'
        : 'indeterminate';
  return Object.freeze({
    status,
    ...(subIndication === undefined ? {} : { subIndication }),
    chain: Object.freeze([...chain]),
    checks: Object.freeze([...checks]),
  });
}
