/**
 * EPS checks 1–3 on an XML-DSig `Signature` (docs/protocol/eps-signing.md §2.2, §1.6; docs/design-notes.md §1 item 2). Rules:
 * - the Signature holds exactly SignedInfo, SignatureValue and KeyInfo (in that order, nothing else); the
 *   document holds exactly one Signature, one SignedInfo and one Reference; SignedInfo allows one
 *   CanonicalizationMethod, SignatureMethod and Reference (parseSignedInfoAlgorithm) → "Invalid signature format";
 * - no comment or processing instruction in SignedInfo, SignatureValue or X509Certificate, nor directly under
 *   Signature (they could change what is read, CVE-2025-29775); comments between the elements of KeyInfo are
 *   tolerated (EPS vectors carry one) → "Invalid signature format";
 * - SignatureValue is strict base64 (whitespace and CRLF allowed) → "Invalid signature format";
 * - KeyInfo/X509Data holds exactly one X509Certificate, with no PEM armour → "Multiple certificates detected";
 * - the certificate is base64 DER of exactly one X.509 certificate → "Invalid certificate";
 * - the algorithms are on the allowlist (rsa-sha256/sha256, rsa-sha1/sha1, exc-c14n); otherwise the
 *   signature check fails with CRYPTO_CONSTRAINTS_FAILURE (EPS would silently fall back to SHA-1).
 */
import { parseCertificate, type CertificateInfo } from '../cms/certificate.js';
import type { Check } from '../cms/report.js';
import {
  XMLDSIG_NAMESPACE,
  canonicalSignedInfoFromSignature,
  parseSignedInfoAlgorithm,
  type SignedInfoAlgorithm,
} from '../prescription/signed-info.js';
import {
  CDATA,
  COMMENT,
  ELEMENT,
  TEXT,
  type XmlDocument,
  type XmlElement,
} from '../prescription/xml-tree.js';
import { EPS_MESSAGES } from './messages.js';

const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * RFC 4648 §4 base64 with padding: whole quads of the alphabet, the last one possibly `XX==` or `XXX=`.
 * (The same language as /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, which V8 runs
 * several times slower on a certificate.)
 */
export const isBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64_CHARS.test(s);

/** What checks 1–3 read from a well-formed Signature. */
export interface SignatureParts {
  readonly signedInfo: Uint8Array;
  /** Undefined when the algorithms are not on the allowlist (the signature check then fails). */
  readonly algorithm: SignedInfoAlgorithm | undefined;
  readonly signatureValue: Uint8Array;
  readonly certificate: CertificateInfo;
}

export interface FormatResult {
  readonly checks: Check[];
  readonly parts?: SignatureParts;
}

const passed = (id: string, title: string): Check => ({ id, title, status: 'passed' });
const failed = (id: string, title: string, message: string): Check => ({
  id,
  title,
  status: 'failed',
  subIndication: 'FORMAT_FAILURE',
  message,
});
const FORMAT = ['eps.format', 'signature format'] as const;
const SINGLE = ['eps.single-certificate', 'one signer certificate'] as const;
const CERT = ['eps.certificate', 'signer certificate readable'] as const;

function dsigChildren(parent: XmlElement, allowComments = false): XmlElement[] | undefined {
  const out: XmlElement[] = [];
  for (const n of parent.children) {
    if (n.type === COMMENT && allowComments) {
      continue;
    }
    if (n.type === ELEMENT) {
      if (n.namespace !== XMLDSIG_NAMESPACE) {
        return undefined;
      }
      out.push(n);
    } else if (n.type !== TEXT || !n.whitespace) {
      return undefined;
    }
  }
  return out;
}

/** Text of an element that may hold text only (no comment, PI or child element). */
function textOnly(e: XmlElement): string | undefined {
  let text = '';
  for (const n of e.children) {
    if (n.type !== TEXT && n.type !== CDATA) {
      return undefined;
    }
    text += n.value;
  }
  return text;
}

function onlyElementsAndText(root: XmlElement): boolean {
  const stack: XmlElement[] = [root];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    for (const c of e.children) {
      if (c.type === ELEMENT) {
        stack.push(c);
      } else if (c.type !== TEXT) {
        return false;
      }
    }
  }
  return true;
}

/** How many Signature, SignedInfo, Reference and X509Certificate elements (xmldsig) the document holds. */
function dsigCounts(
  doc: XmlDocument,
): Record<'Signature' | 'SignedInfo' | 'Reference' | 'X509Certificate', number> {
  const counts = { Signature: 0, SignedInfo: 0, Reference: 0, X509Certificate: 0 };
  for (const e of doc.elements) {
    if (e.namespace === XMLDSIG_NAMESPACE) {
      const name = e.localName;
      if (
        name === 'Signature' ||
        name === 'SignedInfo' ||
        name === 'Reference' ||
        name === 'X509Certificate'
      ) {
        counts[name]++;
      }
    }
  }
  return counts;
}

/**
 * Runs EPS checks 1–3 on `signature` (an element of `doc`); stops at the first failure, as EPS does.
 *
 * @example
 * ```ts
 * const { checks, parts } = readSignature(signatureOfPrescription(doc), doc);
 * if (parts === undefined) return report(checks); // "Invalid signature format" and friends
 * ```
 */
export function readSignature(signature: XmlElement, doc: XmlDocument): FormatResult {
  const parts = dsigChildren(signature);
  const [signedInfo, value, keyInfo, ...rest] = parts ?? [];
  const counts = dsigCounts(doc);
  if (
    signedInfo?.localName !== 'SignedInfo' ||
    value?.localName !== 'SignatureValue' ||
    keyInfo?.localName !== 'KeyInfo' ||
    rest.length > 0 ||
    counts.Signature !== 1 ||
    counts.SignedInfo !== 1 ||
    counts.Reference !== 1 ||
    !onlyElementsAndText(signedInfo)
  ) {
    return { checks: [failed(...FORMAT, EPS_MESSAGES.format)] };
  }
  const valueText = textOnly(value)?.replace(/[ \t\r\n]+/g, '');
  const x509Data = dsigChildren(keyInfo, true);
  const [data, ...moreData] = (x509Data ?? []).filter((e) => e.localName === 'X509Data');
  if (valueText === undefined || valueText === '' || !isBase64(valueText) || data === undefined) {
    return { checks: [failed(...FORMAT, EPS_MESSAGES.format)] };
  }
  let signedInfoBytes: Uint8Array;
  let algorithm: SignedInfoAlgorithm | undefined;
  try {
    signedInfoBytes = canonicalSignedInfoFromSignature(signature);
  } catch {
    return { checks: [failed(...FORMAT, EPS_MESSAGES.format)] };
  }
  try {
    algorithm = parseSignedInfoAlgorithm(signature);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED') {
      return { checks: [failed(...FORMAT, EPS_MESSAGES.format)] };
    }
    algorithm = undefined;
  }
  const checks: Check[] = [passed(...FORMAT)];
  const certs = dsigChildren(data, true)?.filter((e) => e.localName === 'X509Certificate');
  const [certEl, ...moreCerts] = certs ?? [];
  const certRaw = certEl === undefined ? undefined : textOnly(certEl);
  if (certEl === undefined || certRaw === undefined) {
    return { checks: [failed(...FORMAT, EPS_MESSAGES.format)] };
  }
  if (
    moreCerts.length > 0 ||
    moreData.length > 0 ||
    counts.X509Certificate !== 1 ||
    /-----(?:BEGIN|END)/.test(certRaw)
  ) {
    checks.push(failed(...SINGLE, EPS_MESSAGES.multipleCertificates));
    return { checks };
  }
  checks.push(passed(...SINGLE));
  const certText = certRaw.replace(/[ \t\r\n]+/g, '');
  let certificate: CertificateInfo;
  try {
    if (certText === '' || !isBase64(certText)) {
      throw new TypeError('not base64');
    }
    certificate = parseCertificate(Buffer.from(certText, 'base64'));
  } catch {
    checks.push(failed(...CERT, EPS_MESSAGES.invalidCertificate));
    return { checks };
  }
  checks.push(passed(...CERT));
  return {
    checks,
    parts: {
      signedInfo: signedInfoBytes,
      algorithm,
      signatureValue: Buffer.from(valueText, 'base64'),
      certificate,
    },
  };
}
