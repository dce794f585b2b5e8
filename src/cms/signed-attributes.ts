/**
 * Checks of the CMS signed attributes (internal step of verifyCms).
 *
 * Rules:
 * - RFC 5652 §5.3: signed attributes are REQUIRED here (CMS without them is open to EUF-CMA confusion,
 *   draft-vangeest-lamps-cms-euf-cma-signeddata); contentType, messageDigest and signingTime appear at most
 *   once, each with exactly one value (RFC 5652 §11.1–11.3);
 * - RFC 5652 §11.1: the content-type attribute must equal eContentType (pkijs checks presence only);
 * - RFC 5652 §11.2: message-digest equals the digest of the content with the SignerInfo digestAlgorithm;
 * - RFC 2634 §5.4 / RFC 5035 §5.4: signingCertificate (SHA-1) / signingCertificateV2 (default SHA-256), when
 *   present, must name the signer certificate (first ESSCertID: hash and, if present, serial);
 * - RFC 5652 §11.3: signingTime is UTCTime or GeneralizedTime, in its DER form (X.690 §11.7, §11.8).
 */
import { OID, digest, digestName, type HashName } from './algorithms.js';
import type { CertificateInfo } from './certificate.js';
import { equalBytes, serialHex } from './der.js';
import {
  childrenOf,
  contentOf,
  integerContent,
  isTag,
  oidOf,
  timeOf,
  type DerNode,
} from './der-reader.js';
import type { ParsedAttribute } from './parse-cms.js';
import type { Check } from './report.js';

const SEQUENCE = 16;

function single(attrs: readonly ParsedAttribute[], oid: string): DerNode | undefined | 'invalid' {
  const found = attrs.filter((a) => a.type === oid);
  if (found.length === 0) {
    return undefined;
  }
  const [first] = found;
  return found.length > 1 || first === undefined || first.values.length !== 1
    ? 'invalid'
    : first.values[0];
}

const isSequence = (n: DerNode | undefined): n is DerNode => isTag(n, 0, SEQUENCE) && n.constructed;
const isPrimitive = (n: DerNode | undefined, tag: number): n is DerNode =>
  isTag(n, 0, tag) && !n.constructed;

/** The OID of an attribute value, or undefined when it is not one. */
function oidValue(n: DerNode | undefined | 'invalid'): string | undefined {
  return n !== 'invalid' && isPrimitive(n, 6) ? orUndefined(() => oidOf(n)) : undefined;
}

/** parse-cms.ts checked the tree; a DerError here would still be a mismatch, never a throw. */
function orUndefined<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * RFC 2634 §5.4 SigningCertificate / RFC 5035 §5.4 SigningCertificateV2: the first ESSCertID(v2) names the
 * certificate (hash, and serial when issuerSerial is present). The tree is well formed (parse-cms.ts).
 */
function essCertMatches(value: DerNode, cert: CertificateInfo, v2: boolean): boolean {
  return orUndefined(() => essCertMatchesOrThrow(value, cert, v2)) === true;
}

function essCertMatchesOrThrow(value: DerNode, cert: CertificateInfo, v2: boolean): boolean {
  const certs = isSequence(value) ? childrenOf(value)[0] : undefined;
  const id = isSequence(certs) ? childrenOf(certs)[0] : undefined;
  if (!isSequence(id)) {
    return false;
  }
  const items = childrenOf(id);
  let hash: HashName | undefined = v2 ? 'SHA-256' : 'SHA-1';
  if (v2 && isSequence(items[0])) {
    const alg = items.shift();
    const oid = alg === undefined ? undefined : oidValue(childrenOf(alg)[0]);
    hash = oid === undefined ? undefined : digestName(oid);
  }
  const certHash = items[0];
  if (hash === undefined || !isPrimitive(certHash, 4)) {
    return false;
  }
  if (!equalBytes(contentOf(certHash), certificateDigest(cert, hash))) {
    return false;
  }
  const issuerSerial = items[1];
  if (isSequence(issuerSerial)) {
    const serial = childrenOf(issuerSerial)[1];
    return isPrimitive(serial, 2) && serialHex(integerContent(serial)) === cert.serialHex;
  }
  return true;
}

// The digest of a certificate's DER per hash: a certificate comes back for many documents.
const certDigests = new WeakMap<CertificateInfo, Map<HashName, Uint8Array>>();

function certificateDigest(cert: CertificateInfo, hash: HashName): Uint8Array {
  let byHash = certDigests.get(cert);
  if (byHash === undefined) {
    byHash = new Map();
    certDigests.set(cert, byHash);
  }
  let value = byHash.get(hash);
  if (value === undefined) {
    value = digest(hash, cert.der);
    byHash.set(hash, value);
  }
  return value;
}

/** Checks contentType, messageDigest and the ESS signing-certificate attributes; returns checks and signingTime. */
export function checkSignedAttributes(input: {
  attrs: readonly ParsedAttribute[];
  eContentType: string;
  content: Uint8Array;
  hash: HashName;
  cert: CertificateInfo;
}): { checks: Check[]; signingTime?: Date } {
  const checks: Check[] = [];
  const { attrs } = input;
  const ct = single(attrs, OID.contentType);
  const ctOk = oidValue(ct) === input.eContentType;
  checks.push(
    ctOk
      ? {
          id: 'cms.content-type',
          title: 'content-type attribute equals eContentType',
          status: 'passed',
        }
      : {
          id: 'cms.content-type',
          title: 'content-type attribute equals eContentType',
          status: 'failed',
          subIndication: 'FORMAT_FAILURE',
          message:
            ct === undefined
              ? 'content-type attribute missing'
              : 'content-type attribute does not match eContentType',
        },
  );
  const md = single(attrs, OID.messageDigest);
  if (md === 'invalid' || !isPrimitive(md, 4)) {
    checks.push({
      id: 'cms.message-digest',
      title: 'message-digest attribute',
      status: 'failed',
      subIndication: 'FORMAT_FAILURE',
      message: 'message-digest attribute missing or malformed',
    });
  } else {
    const ok = equalBytes(contentOf(md), digest(input.hash, input.content));
    checks.push(
      ok
        ? { id: 'cms.message-digest', title: 'message-digest attribute', status: 'passed' }
        : {
            id: 'cms.message-digest',
            title: 'message-digest attribute',
            status: 'failed',
            subIndication: 'HASH_FAILURE',
            message: 'the content does not match the signed digest',
          },
    );
  }
  for (const [oid, v2] of [
    [OID.signingCertificate, false],
    [OID.signingCertificateV2, true],
  ] as const) {
    const sc = single(attrs, oid);
    if (sc === undefined) {
      continue;
    }
    const id = v2 ? 'cms.signing-certificate-v2' : 'cms.signing-certificate';
    checks.push(
      sc !== 'invalid' && essCertMatches(sc, input.cert, v2)
        ? { id, title: 'signing-certificate attribute names the signer', status: 'passed' }
        : {
            id,
            title: 'signing-certificate attribute names the signer',
            status: 'failed',
            subIndication: 'FORMAT_FAILURE',
            message: 'the signing-certificate attribute does not match the signer certificate',
          },
    );
  }
  const st = single(attrs, OID.signingTime);
  if (st === undefined) {
    return { checks };
  }
  const time = st === 'invalid' ? undefined : timeOf(st);
  if (time === undefined) {
    checks.push({
      id: 'cms.signing-time',
      title: 'signing-time attribute',
      status: 'failed',
      subIndication: 'FORMAT_FAILURE',
      message: 'signing-time attribute malformed',
    });
    return { checks };
  }
  return { checks, signingTime: time };
}
