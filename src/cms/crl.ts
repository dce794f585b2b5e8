/**
 * X.509 CRL parsing, signature verification and the EPS revocation rule.
 *
 * Rules:
 * - RFC 5280 §5.1: the input is exactly one CRL (DER, or PEM `X509 CRL`), no trailing bytes;
 * - RFC 5280 §6.3.3 (f)/(g): a CRL is used only if its issuer name matches the CA and its signature verifies
 *   with the CA's key, and the CA may sign CRLs (keyUsage cRLSign when keyUsage is present);
 * - docs/protocol/eps-signing.md §2.5 (AEA-2650 AC 1.1/1.2): reasons keyCompromise(1), cACompromise(2), aACompromise(10)
 *   → revoked whatever the signing time; any other, unknown or missing reason → revoked iff
 *   signingTime ≥ revocationDate;
 * - removeFromCRL(8) entries (delta CRLs only) do not revoke;
 * - a CRL is parsed once per DER (cached by its SHA-256, bounded), its signature checked once per issuer
 *   certificate (cached by both SHA-256s, bounded), its entries indexed by serial; the dates (thisUpdate,
 *   nextUpdate, revocationDate) are compared on every use.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { verifySignature } from './algorithms.js';
import { BoundedCache } from './bounded-cache.js';
import { certificateInternals, type CertificateInfo } from './certificate.js';
import { bytesOf, decodeWhole, serialHex, toHex } from './der.js';
import { cmsError } from './errors.js';
import { describeName } from './names.js';
import { looksLikePem, pemToDer } from './pem.js';

export interface CrlEntry {
  readonly serialHex: string;
  readonly revocationDate: Date;
  /** RFC 5280 §5.3.1 CRLReason; absent when the entry has no reason code. */
  readonly reason?: number;
}

export interface CrlInfo {
  readonly der: Uint8Array;
  readonly issuer: string;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  readonly authorityKeyId?: string;
  readonly entries: readonly CrlEntry[];
}

interface CrlInternals {
  readonly tbs: Uint8Array;
  readonly signatureOid: string;
  readonly signature: Uint8Array;
  readonly issuerKey: string;
  /** SHA-256 of the DER. */
  readonly fingerprint: string;
  /** First entry per serial (revocationStatus); made on first use. */
  bySerial?: Map<string, CrlEntry>;
}

const internals = new WeakMap<CrlInfo, CrlInternals>();
// CRLs can be large: few parsed ones are kept (each CRL distribution point's current CRL, re-fetched per document).
const parsed = new BoundedCache<string, CrlInfo>(32);
/** verifyCrlSignature outcomes by `crlSha256>issuerSha256`. */
const signatures = new BoundedCache<string, boolean>(1024);
const ALWAYS_REVOKED = new Set([1, 2, 10]);
const REMOVE_FROM_CRL = 8;

function reasonOf(entry: pkijs.RevokedCertificate): number | undefined {
  const ext = entry.crlEntryExtensions?.extensions.find((e) => e.extnID === '2.5.29.21');
  if (ext === undefined) {
    return undefined;
  }
  const v = decodeWhole(ext.extnValue.valueBlock.valueHexView);
  if (!(v instanceof asn1js.Enumerated)) {
    throw cmsError('ERR_CRL_MALFORMED');
  }
  return v.valueBlock.valueDec;
}

/**
 * Parses a CRL (DER or PEM). The signature is NOT checked here: use {@link verifyCrlSignature}.
 * Throws `ERR_CRL_MALFORMED`.
 *
 * @example
 * ```ts
 * const crl = parseCrl(readFileSync('pki/crl/sign-ca.crl'));
 * crl.entries.length;
 * ```
 */
export function parseCrl(input: Uint8Array): CrlInfo {
  if (!(input instanceof Uint8Array)) {
    throw cmsError('ERR_CRL_MALFORMED');
  }
  let der: Uint8Array;
  try {
    der = looksLikePem(input)
      ? pemToDer(Buffer.from(input).toString('latin1'), ['X509 CRL'])
      : input;
  } catch (cause) {
    throw cmsError('ERR_CRL_MALFORMED', { cause });
  }
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const hit = parsed.get(fingerprint);
  if (hit !== undefined) {
    return hit;
  }
  // Copy DER input: the caller may reuse its buffer after we return.
  const info = build(der === input ? new Uint8Array(input) : der, fingerprint);
  parsed.set(fingerprint, info);
  return info;
}

function build(der: Uint8Array, fingerprint: string): CrlInfo {
  const asn = decodeWhole(der);
  if (asn === undefined) {
    throw cmsError('ERR_CRL_MALFORMED');
  }
  let crl: pkijs.CertificateRevocationList;
  try {
    crl = new pkijs.CertificateRevocationList({ schema: asn });
  } catch (cause) {
    throw cmsError('ERR_CRL_MALFORMED', { cause });
  }
  const issuer = describeName(crl.issuer);
  const akidExt = crl.crlExtensions?.extensions.find((e) => e.extnID === '2.5.29.35');
  const akid: unknown = akidExt?.parsedValue;
  const entries = (crl.revokedCertificates ?? []).map((e) => {
    const reason = reasonOf(e);
    return Object.freeze({
      serialHex: serialHex(e.userCertificate.valueBlock.valueHexView),
      revocationDate: e.revocationDate.value,
      ...(reason === undefined ? {} : { reason }),
    });
  });
  const info: CrlInfo = Object.freeze({
    der,
    issuer: issuer.text,
    thisUpdate: crl.thisUpdate.value,
    ...(crl.nextUpdate === undefined ? {} : { nextUpdate: crl.nextUpdate.value }),
    ...(akid instanceof pkijs.AuthorityKeyIdentifier && akid.keyIdentifier !== undefined
      ? { authorityKeyId: toHex(akid.keyIdentifier.valueBlock.valueHexView) }
      : {}),
    entries: Object.freeze(entries),
  });
  internals.set(info, {
    tbs: bytesOf(crl.tbsView),
    signatureOid: crl.signatureAlgorithm.algorithmId,
    signature: crl.signatureValue.valueBlock.valueHexView,
    issuerKey: issuer.matchKey,
    fingerprint,
  });
  return info;
}

/**
 * True when `crl` was issued by `issuer`: names match, the CA may sign CRLs, and the signature verifies.
 *
 * @example
 * ```ts
 * if (!verifyCrlSignature(crl, signCa)) throw new Error('untrusted CRL');
 * ```
 */
export function verifyCrlSignature(crl: CrlInfo, issuer: CertificateInfo): boolean {
  const own = internalsOf(crl);
  const ca = certificateInternals(issuer);
  // Every input below comes from the two DERs (the issuer's keyUsage too), hence the key.
  return signatures.getOrCompute(`${own.fingerprint}>${ca.fingerprint}`, () => {
    if (ca.key === undefined || own.issuerKey !== ca.subjectKey) {
      return false;
    }
    if (issuer.keyUsage !== undefined && !issuer.keyUsage.cRLSign) {
      return false;
    }
    return verifySignature(ca.key, own.signatureOid, own.tbs, own.signature) === 'valid';
  });
}

/** Internal data of a parsed CRL (re-parses a CrlInfo that did not come from parseCrl). */
function internalsOf(crl: CrlInfo): CrlInternals {
  const own = internals.get(crl) ?? internals.get(parseCrl(crl.der));
  if (own === undefined) {
    throw cmsError('ERR_CRL_MALFORMED');
  }
  return own;
}

/** True when `crl` could have been issued by `issuer` (name, and AKID/SKID when both are present). */
export function crlMatchesIssuer(crl: CrlInfo, issuer: CertificateInfo): boolean {
  if (internalsOf(crl).issuerKey !== certificateInternals(issuer).subjectKey) {
    return false;
  }
  return (
    crl.authorityKeyId === undefined ||
    issuer.subjectKeyId === undefined ||
    crl.authorityKeyId === issuer.subjectKeyId
  );
}

/**
 * The EPS revocation rule for one certificate at `signingTime` (docs/protocol/eps-signing.md §2.5).
 *
 * @example
 * ```ts
 * const { revoked, entry } = revocationStatus(crl, cert.serialHex, signingTime);
 * ```
 */
export function revocationStatus(
  crl: CrlInfo,
  serial: string,
  signingTime: Date,
): { revoked: boolean; entry?: CrlEntry } {
  const entry = entryOf(crl, serial.toLowerCase());
  if (entry === undefined || entry.reason === REMOVE_FROM_CRL) {
    return entry === undefined ? { revoked: false } : { revoked: false, entry };
  }
  if (entry.reason !== undefined && ALWAYS_REVOKED.has(entry.reason)) {
    return { revoked: true, entry };
  }
  return { revoked: signingTime.getTime() >= entry.revocationDate.getTime(), entry };
}

function entryOf(crl: CrlInfo, serial: string): CrlEntry | undefined {
  const own = internals.get(crl);
  if (own === undefined) {
    return crl.entries.find((e) => e.serialHex === serial);
  }
  if (own.bySerial === undefined) {
    own.bySerial = new Map();
    for (const e of crl.entries) {
      if (!own.bySerial.has(e.serialHex)) {
        own.bySerial.set(e.serialHex, e);
      }
    }
  }
  return own.bySerial.get(serial);
}
