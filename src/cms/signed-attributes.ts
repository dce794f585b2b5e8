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
 * - RFC 5652 §11.3: signingTime is UTCTime or GeneralizedTime.
 */
import * as asn1js from 'asn1js';
import { OID, digest, digestName, type HashName } from './algorithms.js';
import type { CertificateInfo } from './certificate.js';
import { equalBytes, serialHex } from './der.js';
import type { ParsedAttribute } from './parse-cms.js';
import type { Check } from './report.js';

function single(
  attrs: readonly ParsedAttribute[],
  oid: string,
): asn1js.AsnType | undefined | 'invalid' {
  const found = attrs.filter((a) => a.type === oid);
  if (found.length === 0) {
    return undefined;
  }
  const [first] = found;
  return found.length > 1 || first === undefined || first.values.length !== 1
    ? 'invalid'
    : first.values[0];
}

function essCertMatches(value: asn1js.AsnType, cert: CertificateInfo, v2: boolean): boolean {
  const certs = value instanceof asn1js.Sequence ? value.valueBlock.value[0] : undefined;
  const id = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
  if (!(id instanceof asn1js.Sequence)) {
    return false;
  }
  const items = [...id.valueBlock.value];
  let hash: HashName | undefined = v2 ? 'SHA-256' : 'SHA-1';
  if (v2 && items[0] instanceof asn1js.Sequence) {
    const alg = items.shift();
    const oid = alg instanceof asn1js.Sequence ? alg.valueBlock.value[0] : undefined;
    hash =
      oid instanceof asn1js.ObjectIdentifier ? digestName(oid.valueBlock.toString()) : undefined;
  }
  const certHash = items[0];
  if (hash === undefined || !(certHash instanceof asn1js.OctetString)) {
    return false;
  }
  if (!equalBytes(certHash.valueBlock.valueHexView, digest(hash, cert.der))) {
    return false;
  }
  const issuerSerial = items[1];
  if (issuerSerial instanceof asn1js.Sequence) {
    const serial = issuerSerial.valueBlock.value[1];
    return (
      serial instanceof asn1js.Integer &&
      serialHex(serial.valueBlock.valueHexView) === cert.serialHex
    );
  }
  return true;
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
  const ctOk =
    ct instanceof asn1js.ObjectIdentifier && ct.valueBlock.toString() === input.eContentType;
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
  if (!(md instanceof asn1js.OctetString)) {
    checks.push({
      id: 'cms.message-digest',
      title: 'message-digest attribute',
      status: 'failed',
      subIndication: 'FORMAT_FAILURE',
      message: 'message-digest attribute missing or malformed',
    });
  } else {
    const ok = equalBytes(md.valueBlock.valueHexView, digest(input.hash, input.content));
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
  const time =
    st instanceof asn1js.UTCTime || st instanceof asn1js.GeneralizedTime ? st.toDate() : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) {
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
