/**
 * EPS check 4 (docs/protocol/eps-signing.md §2.4). Rules:
 * - RSA PKCS#1 v1.5 over the canonical SignedInfo (EPS §2.3 form) with the hash its SignatureMethod names;
 * - algorithms outside the allowlist, or a non-RSA key → failed, CRYPTO_CONSTRAINTS_FAILURE, "Signature is invalid";
 * - a signature that does not verify → failed, SIG_CRYPTO_FAILURE, "Signature is invalid".
 */
import { verify, type KeyObject } from 'node:crypto';
import { keyFromSpki } from '../cms/algorithms.js';
import type { CertificateInfo } from '../cms/certificate.js';
import type { Check } from '../cms/report.js';
import { EPS_MESSAGES } from './messages.js';
import type { SignatureParts } from './signature-format.js';

const keys = new WeakMap<CertificateInfo, KeyObject>();

/** The certificate's public key, created once per parsed certificate. */
export function publicKeyOf(cert: CertificateInfo): KeyObject {
  let key = keys.get(cert);
  if (key === undefined) {
    key = keyFromSpki(cert.publicKey.spkiDer);
    keys.set(cert, key);
  }
  return key;
}

/**
 * @example
 * ```ts
 * checks.push(checkSignatureValue(parts)); // id 'eps.signature'
 * ```
 */
export function checkSignatureValue(parts: SignatureParts): Check {
  const id = 'eps.signature';
  const title = 'signature value';
  if (parts.algorithm === undefined || parts.certificate.publicKey.algorithm !== 'RSA') {
    return {
      id,
      title,
      status: 'failed',
      subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
      message: EPS_MESSAGES.signatureInvalid,
    };
  }
  let ok = false;
  try {
    ok = verify(
      parts.algorithm.hash,
      parts.signedInfo,
      publicKeyOf(parts.certificate),
      parts.signatureValue,
    );
  } catch {
    ok = false;
  }
  return ok
    ? { id, title, status: 'passed' }
    : {
        id,
        title,
        status: 'failed',
        subIndication: 'SIG_CRYPTO_FAILURE',
        message: EPS_MESSAGES.signatureInvalid,
      };
}
