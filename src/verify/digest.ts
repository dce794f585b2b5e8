/**
 * EPS check 5 (docs/protocol/eps-signing.md §2.3). Rules:
 * - the received SignedInfo (canonicalised as EPS does) equals, byte for byte, the SignedInfo rebuilt from
 *   the prescription's fragments with the algorithm the received one declares → else HASH_FAILURE,
 *   "Signature doesn't match prescription";
 * - when the signed content is not there or cannot be rebuilt (a FHIR signature on its own, a Bundle the
 *   translation refuses) the check is `indeterminate` with SIGNED_DATA_NOT_FOUND: never passed, never skipped
 *   (a report must not say PASSED about content it did not check).
 */
import type { Check } from '../cms/report.js';
import { buildSignedInfo } from '../prescription/signed-info.js';
import { EPS_MESSAGES, OWN_MESSAGES } from './messages.js';
import type { SignatureParts } from './signature-format.js';

/** Byte equality without copying either side. */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );

/**
 * @example
 * ```ts
 * checks.push(checkDigest(parts, fragmentsFromDocument(doc)));
 * ```
 */
export function checkDigest(
  parts: SignatureParts,
  fragments: Uint8Array | undefined,
  unavailable: string = OWN_MESSAGES.noPrescription,
): Check {
  const id = 'eps.digest';
  const title = 'signature matches prescription';
  if (fragments === undefined) {
    return {
      id,
      title,
      status: 'indeterminate',
      subIndication: 'SIGNED_DATA_NOT_FOUND',
      message: unavailable,
    };
  }
  const ok =
    parts.algorithm !== undefined &&
    sameBytes(buildSignedInfo(fragments, parts.algorithm.algorithm), parts.signedInfo);
  return ok
    ? { id, title, status: 'passed' }
    : {
        id,
        title,
        status: 'failed',
        subIndication: 'HASH_FAILURE',
        message: EPS_MESSAGES.digestMismatch,
      };
}
