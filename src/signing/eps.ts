/**
 * EPS digest signing: the `$prepare` SignedInfo as received, signed on the card, checked, assembled.
 *
 * Rules (docs/protocol/eps-signing.md §1.5, §1.6, §3.2, §6; the Provenance entry of §3.3 is provenance.ts):
 * - `algorithm` is RS256 (CKM_SHA256_RSA_PKCS) or RS1 (CKM_SHA1_RSA_PKCS); anything else is refused before
 *   any card operation;
 * - `payload`/`digest` is strict base64 (RFC 4648 §4, canonical padding) of UTF-8 (fatal decoder) SignedInfo
 *   bytes that are EPS's template exactly (one Reference, exc-c14n, the rsa-sha256/sha256 or rsa-sha1/sha1
 *   pair of `algorithm`: `checkEpsSignedInfo`), else ERR_SIGN_BAD_PAYLOAD before any card operation; those
 *   exact bytes are signed, never re-serialised;
 * - every signature is verified with the certificate's public key (node:crypto) before it is returned;
 * - the XML-DSig Signature uses the default namespace, the SignedInfo bytes as received, exactly one
 *   certificate as base64 DER with no PEM armour and no whitespace;
 * - a batch holds at most 250 payloads; one bad item never stops the others; after a card removal no further
 *   signature is returned and the remaining items fail with ERR_SIGN_CARD_REMOVED.
 */
import { createHash, verify } from 'node:crypto';
import { isServiceError } from '../errors.js';
import type { CardSession, SigningKey } from './card-session.js';
import { signError } from './errors.js';
import { checkEpsSignedInfo } from '../prescription/index.js';

export type EpsAlgorithm = 'RS256' | 'RS1';

/** Largest batch (NHS Remote Digital Signature Service limit, §3.2). */
export const MAX_EPS_BATCH = 250;
/** Largest decoded SignedInfo accepted (a real one is under 1 KiB). */
export const MAX_SIGNED_INFO_BYTES = 16 * 1024;

const ALGORITHMS: Readonly<
  Record<EpsAlgorithm, { mechanism: string; hash: 'sha256' | 'sha1'; method: string }>
> = {
  RS256: {
    mechanism: 'SHA256_RSA_PKCS',
    hash: 'sha256',
    method: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  },
  RS1: {
    mechanism: 'SHA1_RSA_PKCS',
    hash: 'sha1',
    method: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  },
};
/** RFC 4648 §4 alphabet and padding in whole quads (flat class: no backtracking groups); canonical bits below. */
const isStrictBase64 = (s: string): boolean =>
  s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Refuses a batch whose payload ids repeat (ERR_SIGN_BAD_INPUT, detail `payloads[].id` / `repeated`): the
 * answer names each signature by its id, so with a repeated id which signature is whose cannot be told.
 * The HTTP route calls it before the user is asked to approve, the signing service again for every caller.
 *
 * @example
 * ```ts
 * checkDistinctIds(['rx-1', 'rx-2']); // returns
 * checkDistinctIds(['rx-1', 'rx-1']); // throws ERR_SIGN_BAD_INPUT
 * ```
 */
export function checkDistinctIds(ids: readonly string[]): void {
  if (new Set(ids).size !== ids.length) {
    throw signError('ERR_SIGN_BAD_INPUT', {
      detail: { field: 'payloads[].id', reason: 'repeated' },
    });
  }
}

/**
 * Allowlists the algorithm (§1.5): RS256 or RS1, else ERR_SIGN_ALGORITHM_UNSUPPORTED.
 *
 * @example
 * ```ts
 * parseEpsAlgorithm('RS256'); // 'RS256'
 * ```
 */
export function parseEpsAlgorithm(value: unknown): EpsAlgorithm {
  if (value === 'RS256' || value === 'RS1') {
    return value;
  }
  throw signError('ERR_SIGN_ALGORITHM_UNSUPPORTED');
}

/** The PKCS#11 mechanism and node hash name of an EPS algorithm. */
export function epsMechanism(algorithm: EpsAlgorithm): {
  mechanism: string;
  hash: 'sha256' | 'sha1';
} {
  const a = ALGORITHMS[algorithm];
  return { mechanism: a.mechanism, hash: a.hash };
}

/**
 * Strictly decodes a `$prepare` digest into the SignedInfo bytes to sign (§1.5, §6 "Input").
 *
 * @example
 * ```ts
 * const bytes = decodeEpsPayload(prepare.digest, 'RS256');
 * ```
 */
export function decodeEpsPayload(b64: unknown, algorithm: EpsAlgorithm): Uint8Array {
  // RFC 4648 §4 alphabet with canonical padding; the round trip rejects non-zero pad bits.
  if (
    typeof b64 !== 'string' ||
    b64.length === 0 ||
    b64.length > ((MAX_SIGNED_INFO_BYTES + 2) / 3) * 4 + 4
  ) {
    throw signError('ERR_SIGN_BAD_PAYLOAD');
  }
  if (!isStrictBase64(b64)) {
    throw signError('ERR_SIGN_BAD_PAYLOAD');
  }
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.toString('base64') !== b64) {
    throw signError('ERR_SIGN_BAD_PAYLOAD');
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw signError('ERR_SIGN_BAD_PAYLOAD', { cause });
  }
  // The bytes are signed as they are (docs/protocol/eps-signing.md §6: never re-serialised); they must be
  // EPS's SignedInfo template for this algorithm exactly, checked with the project's XML parser.
  try {
    checkEpsSignedInfo(text, algorithm);
  } catch (cause) {
    throw signError(
      isServiceError(cause) && cause.code === 'ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED'
        ? 'ERR_SIGN_ALGORITHM_UNSUPPORTED'
        : 'ERR_SIGN_BAD_PAYLOAD',
      { cause },
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The XML-DSig `Signature` of §1.6 around SignedInfo bytes as received.
 *
 * @example
 * ```ts
 * const xml = xmlDsigSignature(signedInfo, sigB64, certB64);
 * const data = Buffer.from(xml, 'utf8').toString('base64'); // Provenance.signature.data
 * ```
 */
export function xmlDsigSignature(
  signedInfo: Uint8Array,
  signatureB64: string,
  certificateB64: string,
): string {
  return (
    '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">' +
    utf8.decode(signedInfo) +
    `<SignatureValue>${signatureB64}</SignatureValue>` +
    `<KeyInfo><X509Data><X509Certificate>${certificateB64}</X509Certificate></X509Data></KeyInfo></Signature>`
  );
}

/** One decoded item of a batch. */
export interface EpsItem {
  readonly id: string;
  readonly bytes: Uint8Array;
  /** {@link sha256Hex} of `bytes` (the audit log's `payloadSha256`), computed once by the caller. */
  readonly sha256: string;
}

/** One item's outcome. */
export type EpsItemOutcome =
  | {
      readonly id: string;
      readonly ok: true;
      readonly signature: Uint8Array;
      readonly sha256: string;
    }
  | { readonly id: string; readonly ok: false; readonly code: string; readonly sha256: string };

/**
 * Hex SHA-256 of a payload (the audit log's `payloadSha256`).
 *
 * @example
 * ```ts
 * sha256Hex(signedInfo); // '9f…'
 * ```
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Signatures in flight at once: enough to keep every session of the token busy (the token layer signs on
 * several sessions in parallel; its default is 2) while this thread checks results.
 */
const WINDOW = 8;

/**
 * Signs decoded items on the card, {@link WINDOW} requests in flight. The token layer may run them in parallel
 * and answer in any order, so results are taken in item order: each signature is verified with the
 * certificate's key; once one item fails because the card went, no later item's signature is returned (even
 * one that the card finished before the failure), and every later item fails with ERR_SIGN_CARD_REMOVED.
 *
 * @example
 * ```ts
 * const outcomes = await signEpsItems(session, key, 'RS256', items);
 * ```
 */
export async function signEpsItems(
  session: CardSession,
  key: SigningKey,
  algorithm: EpsAlgorithm,
  items: readonly EpsItem[],
): Promise<EpsItemOutcome[]> {
  const { mechanism, hash } = ALGORITHMS[algorithm];
  const out: EpsItemOutcome[] = [];
  let removed = false;
  const inFlight: Promise<Uint8Array>[] = [];
  const issue = (i: number): void => {
    const item = items[i];
    if (item !== undefined && !removed) {
      const p = session.sign(key, mechanism, item.bytes);
      p.catch(() => undefined); // observed in order below
      inFlight[i] = p;
    }
  };
  for (let i = 0; i < Math.min(WINDOW, items.length); i++) {
    issue(i);
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const pending = inFlight[i];
    if (item === undefined) {
      break;
    }
    const { sha256 } = item;
    if (removed || pending === undefined) {
      out.push({ id: item.id, ok: false, code: 'ERR_SIGN_CARD_REMOVED', sha256 });
      continue;
    }
    try {
      const signature = await pending;
      issue(i + WINDOW);
      if (!verify(hash, item.bytes, key.publicKey, signature)) {
        out.push({ id: item.id, ok: false, code: 'ERR_SIGN_SELF_CHECK_FAILED', sha256 });
      } else {
        out.push({ id: item.id, ok: true, signature, sha256 });
      }
    } catch (err) {
      const code = isServiceError(err) ? err.code : 'ERR_SIGN_CARD_FAILED';
      removed = code === 'ERR_SIGN_CARD_REMOVED' || !session.isCurrent(key);
      out.push({ id: item.id, ok: false, code: removed ? 'ERR_SIGN_CARD_REMOVED' : code, sha256 });
      issue(i + WINDOW);
    }
  }
  return out;
}
