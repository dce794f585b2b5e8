/**
 * Decodes a CMS ContentInfo/SignedData into plain internal data (internal to src/cms).
 *
 * Rules:
 * - RFC 5652 §3: ContentInfo with contentType id-signedData and exactly one DER/BER object (no trailing bytes);
 * - RFC 5652 §5.1: SignedData version 1, 3, 4 or 5; certificates are X.509 certificates (others rejected);
 * - RFC 5652 §5.3: SignerInfo version 1 uses issuerAndSerialNumber, version 3 subjectKeyIdentifier;
 * - RFC 5652 §5.4: the signed attributes are verified over the DER as received, with the SET OF tag (0x31);
 * - PEM input is accepted with the labels CMS, PKCS7 and PKCS #7 SIGNED DATA (RFC 7468 §9).
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from './algorithms.js';
import { parseCertificate, type CertificateInfo } from './certificate.js';
import { bytesOf, decodeWhole, serialHex, toHex } from './der.js';
import { cmsError } from './errors.js';
import { looksLikePem, pemToDer } from './pem.js';

export interface ParsedAttribute {
  readonly type: string;
  readonly values: readonly asn1js.AsnType[];
}

export interface ParsedSigner {
  readonly version: number;
  readonly sid:
    | { readonly kind: 'issuerSerial'; readonly issuerDer: Uint8Array; readonly serialHex: string }
    | { readonly kind: 'skid'; readonly keyId: string };
  readonly digestOid: string;
  /** RFC 5754 §2: parameters absent or NULL. */
  readonly digestParamsOk: boolean;
  readonly signatureOid: string;
  readonly signature: Uint8Array;
  readonly signedAttrsDer?: Uint8Array;
  readonly signedAttrs?: readonly ParsedAttribute[];
  readonly hasUnsignedAttrs: boolean;
}

export interface ParsedCms {
  readonly version: number;
  readonly digestOids: readonly string[];
  readonly eContentType: string;
  readonly eContent?: Uint8Array;
  readonly certificates: readonly CertificateInfo[];
  readonly signers: readonly ParsedSigner[];
}

export const PEM_LABELS = ['CMS', 'PKCS7', 'PKCS #7 SIGNED DATA'] as const;

/** DER bytes of `input`, which is DER or PEM; throws ERR_CMS_MALFORMED. */
export function cmsDer(input: Uint8Array): Uint8Array {
  if (!looksLikePem(input)) {
    return input;
  }
  try {
    return pemToDer(Buffer.from(input).toString('latin1'), PEM_LABELS);
  } catch (cause) {
    throw cmsError('ERR_CMS_MALFORMED', { cause });
  }
}

function rawCertificates(signedData: asn1js.AsnType): Uint8Array[] {
  const seq = signedData instanceof asn1js.Sequence ? signedData.valueBlock.value : [];
  const block = seq.find((b, i) => i > 2 && b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0);
  if (!(block instanceof asn1js.Constructed)) {
    return [];
  }
  return block.valueBlock.value.map((c) => {
    if (!(c instanceof asn1js.Sequence)) {
      throw cmsError('ERR_CMS_MALFORMED');
    }
    return c.valueBeforeDecodeView;
  });
}

function signerOf(si: pkijs.SignerInfo): ParsedSigner {
  const sid: ParsedSigner['sid'] =
    si.sid instanceof pkijs.IssuerAndSerialNumber
      ? {
          kind: 'issuerSerial',
          issuerDer: bytesOf(si.sid.issuer.toSchema().toBER()),
          serialHex: serialHex(si.sid.serialNumber.valueBlock.valueHexView),
        }
      : si.sid instanceof asn1js.Constructed || si.sid instanceof asn1js.Primitive
        ? { kind: 'skid', keyId: toHex(keyIdBytes(si.sid)) }
        : (() => {
            throw cmsError('ERR_CMS_MALFORMED');
          })();
  const params = si.digestAlgorithm.algorithmParams as unknown;
  const attrs = si.signedAttrs;
  return {
    version: si.version,
    sid,
    digestOid: si.digestAlgorithm.algorithmId,
    digestParamsOk: params === undefined || params instanceof asn1js.Null,
    signatureOid: si.signatureAlgorithm.algorithmId,
    signature: si.signature.valueBlock.valueHexView,
    ...(attrs === undefined
      ? {}
      : {
          signedAttrsDer: new Uint8Array(attrs.encodedValue),
          signedAttrs: attrs.attributes.map((a) => ({ type: a.type, values: a.values })),
        }),
    hasUnsignedAttrs: si.unsignedAttrs !== undefined,
  };
}

function keyIdBytes(sid: asn1js.Constructed | asn1js.Primitive): Uint8Array {
  // [0] SubjectKeyIdentifier: implicit OCTET STRING, primitive (or constructed by a BER encoder).
  if (sid instanceof asn1js.Primitive) {
    return sid.valueBlock.valueHexView;
  }
  const inner = sid.valueBlock.value[0];
  return inner instanceof asn1js.OctetString ? inner.valueBlock.valueHexView : new Uint8Array(0);
}

/**
 * Decodes a CMS SignedData (DER or PEM). Throws `ERR_CMS_MALFORMED` (or `ERR_CERT_MALFORMED` for an
 * embedded certificate that does not parse).
 */
export function parseSignedData(input: Uint8Array): ParsedCms {
  const der = cmsDer(input);
  const asn = decodeWhole(der);
  if (asn === undefined) {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  let sd: pkijs.SignedData;
  let content: asn1js.AsnType;
  try {
    const ci = new pkijs.ContentInfo({ schema: asn });
    if (ci.contentType !== OID.signedData) {
      throw cmsError('ERR_CMS_MALFORMED');
    }
    content = ci.content as asn1js.AsnType;
    sd = new pkijs.SignedData({ schema: content });
  } catch (cause) {
    throw cmsError('ERR_CMS_MALFORMED', { cause });
  }
  if (![1, 3, 4, 5].includes(sd.version)) {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  if ((sd.certificates ?? []).some((c) => !(c instanceof pkijs.Certificate))) {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  const certificates = rawCertificates(content).map((d) => parseCertificate(d));
  let signers: ParsedSigner[];
  try {
    signers = sd.signerInfos.map(signerOf);
  } catch (cause) {
    throw cmsError('ERR_CMS_MALFORMED', { cause });
  }
  const eContent = sd.encapContentInfo.eContent;
  return {
    version: sd.version,
    digestOids: sd.digestAlgorithms.map((a) => a.algorithmId),
    eContentType: sd.encapContentInfo.eContentType,
    ...(eContent === undefined ? {} : { eContent: new Uint8Array(eContent.getValue()) }),
    certificates,
    signers,
  };
}
