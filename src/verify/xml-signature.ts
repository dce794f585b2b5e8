/**
 * The one check sequence for an EPS XML-DSig signature, shared by HL7 v3 and FHIR (docs/protocol/eps-signing.md §2.2 order):
 * format (1–3), signing time, signature value (4), digest (5), then certificates (6–9), key usage and policy.
 * Rules:
 * - checks 1–3 stop at the first failure (as EPS); 4–9 all run and all are reported;
 * - the certificates are evaluated at `at` when given, else at the signing time; without a valid signing time
 *   the report fails with FORMAT_FAILURE;
 * - the signer is the certificate's CN; its UID is the CN's digits before the first `_`.
 */
import type { CertificateInfo } from '../cms/certificate.js';
import type { PathResult } from '../cms/path.js';
import {
  buildReport,
  chainEntry,
  type ChainEntry,
  type Check,
  type VerificationReport,
} from '../cms/report.js';
import type { XmlDocument, XmlElement } from '../prescription/xml-tree.js';
import { certificateChecks } from './certificate-checks.js';
import type { TrustContext } from './context.js';
import { checkDigest } from './digest.js';
import { EPS_MESSAGES, OWN_MESSAGES } from './messages.js';
import { readSignature } from './signature-format.js';
import { checkSignatureValue } from './signature-value.js';

export interface XmlSignatureInput {
  readonly format: string;
  readonly doc: XmlDocument;
  readonly signature: XmlElement;
  /** Canonical fragments of the prescription; undefined for a signature on its own. */
  readonly fragments: Uint8Array | undefined;
  /** Why `fragments` is missing (the digest check's message). */
  readonly fragmentsUnavailable?: string;
  readonly signingTime: Date | undefined;
  readonly at?: Date;
}

const chains = new WeakMap<PathResult, ChainEntry[]>();

/** The report's chain for a path result (the Verifier caches path results, so this is computed once each). */
function chainOf(path: PathResult): ChainEntry[] {
  let chain = chains.get(path);
  if (chain === undefined) {
    chain = path.chain.map(chainEntry);
    chains.set(path, chain);
  }
  return chain;
}

/** The report's signer facts. */
export function signerOf(cert: CertificateInfo): NonNullable<VerificationReport['signer']> {
  const name = cert.subjectCN ?? cert.subject;
  const uid = /^(\d+)_/.exec(name)?.[1];
  return {
    name,
    ...(uid === undefined ? {} : { uid }),
    certificateSerial: cert.serialHex,
    issuer: cert.issuer,
  };
}

/** A report with a single format failure. */
export function formatFailure(
  format: string,
  message: string = EPS_MESSAGES.format,
): VerificationReport {
  return buildReport({
    format,
    chain: [],
    checks: [
      {
        id: 'eps.format',
        title: 'signature format',
        status: 'failed',
        subIndication: 'FORMAT_FAILURE',
        message,
      },
    ],
  });
}

/**
 * @example
 * ```ts
 * const report = await verifyXmlSignature(ctx, { format: 'HL7v3', doc, signature, fragments, signingTime });
 * ```
 */
export async function verifyXmlSignature(
  ctx: TrustContext,
  input: XmlSignatureInput,
): Promise<VerificationReport> {
  const { checks, parts } = readSignature(input.signature, input.doc);
  if (parts === undefined) {
    return buildReport({ format: input.format, checks, chain: [] });
  }
  const signer = signerOf(parts.certificate);
  const time: Check =
    input.signingTime === undefined
      ? {
          id: 'eps.signing-time',
          title: 'signing time',
          status: 'failed',
          subIndication: 'FORMAT_FAILURE',
          message: OWN_MESSAGES.signingTime,
        }
      : { id: 'eps.signing-time', title: 'signing time', status: 'passed' };
  checks.push(
    time,
    checkSignatureValue(parts),
    checkDigest(parts, input.fragments, input.fragmentsUnavailable),
  );
  const at = input.at ?? input.signingTime;
  if (at === undefined) {
    return buildReport({ format: input.format, checks, chain: [], signer });
  }
  const path = await ctx.path(parts.certificate, at);
  checks.push(
    ...certificateChecks({
      certificate: parts.certificate,
      at,
      path,
      algorithm: parts.algorithm?.algorithm,
      allowSha1: ctx.allowSha1,
      minRsaBits: ctx.minRsaBits,
      anchors: ctx.anchors,
      crls: ctx.crls,
      revocation: ctx.revocation,
      now: ctx.now(),
    }),
  );
  return buildReport({
    format: input.format,
    checks,
    chain: chainOf(path),
    signer,
    ...(input.signingTime === undefined ? {} : { signingTime: input.signingTime }),
  });
}
