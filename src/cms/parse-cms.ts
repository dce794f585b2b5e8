/**
 * Decodes a CMS ContentInfo/SignedData into plain internal data (internal to src/cms) with one strict walk
 * over the bytes (der-reader.ts): it takes exactly what verification needs and copies nothing but the
 * input itself, the signed attributes (re-tagged) and a segmented eContent.
 *
 * Rules:
 * - RFC 5652 §3: ContentInfo with contentType id-signedData and exactly one element (no trailing bytes);
 * - X.690 §8.1.3.6: the indefinite length (BER, as `openssl cms -sign -stream` writes) only for ContentInfo, its
 *   [0], SignedData, EncapsulatedContentInfo, eContent's [0] and OCTET STRING, certificates, crls and the
 *   signerInfos SET; everything else (digestAlgorithms, each SignerInfo) in definite lengths;
 * - RFC 5652 §5.1: SignedData version 1, 3, 4 or 5, fields in order, nothing after signerInfos; certificates
 *   are X.509 certificates (other CertificateChoices rejected), each parsed once by its SHA-256
 *   (certificate.ts); crls [1] are not used and are skipped as one element;
 * - RFC 5652 §5.2: eContent is an OCTET STRING, primitive or (BER) constructed of at most 65,536 primitive
 *   OCTET STRINGs; every other SET or SEQUENCE walked holds at most 256 elements (der-reader.ts);
 * - RFC 5652 §5.3: SignerInfo version 1 uses issuerAndSerialNumber (a well-formed Name, RFC 5280 §4.1.2.4),
 *   version 3 subjectKeyIdentifier (primitive [0]); AlgorithmIdentifiers hold an OID and at most one parameter;
 * - RFC 5652 §5.3: signed attributes are DER (definite lengths throughout, checked to the last element); each
 *   Attribute is SEQUENCE { OID, SET OF value }; unsigned attributes (not used) are skipped as one element;
 * - RFC 5652 §5.4: the signed attributes are verified over the bytes as received, with the SET OF tag (0x31);
 * - PEM input is accepted with the labels CMS, PKCS7 and PKCS #7 SIGNED DATA (RFC 7468 §9).
 */
import { OID } from './algorithms.js';
import { parseCertificate, type CertificateInfo } from './certificate.js';
import { serialHex, toHex } from './der.js';
import {
  DerError,
  childrenOf,
  contentOf,
  definite,
  encodingOf,
  expectTag,
  integerContent,
  isTag,
  oidOf,
  readWhole,
  smallInteger,
  type DerNode,
} from './der-reader.js';
import { cmsError } from './errors.js';
import { looksLikePem, pemToDer } from './pem.js';

export interface ParsedAttribute {
  readonly type: string;
  /** The elements of the attribute's SET OF AttributeValue (views into the parsed input). */
  readonly values: readonly DerNode[];
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

const UNIVERSAL = 0;
const CONTEXT = 2;
const SEQUENCE = 16;
const SET = 17;
const OCTET_STRING = 4;
const MAX_ATTR_DEPTH = 32;
const MAX_SEGMENTS = 65_536;

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

const seq = (node: DerNode | undefined, indefinite = false): DerNode[] =>
  childrenOf(expectTag(node, UNIVERSAL, SEQUENCE, true), indefinite);

/** AlgorithmIdentifier (RFC 5280 §4.1.1.2): the OID and whether the parameters are absent or NULL. */
function algorithm(node: DerNode | undefined): { oid: string; paramsOk: boolean } {
  const [oid, params, extra] = seq(node);
  if (extra !== undefined) {
    throw new DerError();
  }
  const isNull = params !== undefined && isTag(params, UNIVERSAL, 5) && !params.constructed;
  if (isNull && params.contentEnd !== params.contentStart) {
    throw new DerError();
  }
  return { oid: oidOf(expectTag(oid, UNIVERSAL, 6)), paramsOk: params === undefined || isNull };
}

/**
 * Every element below `node` is well formed in definite lengths (DER's rule for signed attributes), and so are
 * the contents of the INTEGERs and OIDs among them.
 */
function checkTree(node: DerNode, depth: number): void {
  if (!node.constructed) {
    if (node.cls === UNIVERSAL && node.tag === 2) {
      integerContent(node);
    } else if (node.cls === UNIVERSAL && node.tag === 6) {
      oidOf(node);
    }
    return;
  }
  if (depth > MAX_ATTR_DEPTH) {
    throw new DerError();
  }
  for (const child of childrenOf(node)) {
    checkTree(child, depth + 1);
  }
}

/** RFC 5280 §4.1.2.4 Name: SEQUENCE OF SET OF SEQUENCE { OID, value }; its DER (matched byte for byte). */
function nameOf(node: DerNode | undefined): Uint8Array {
  for (const rdn of seq(node)) {
    for (const atv of childrenOf(expectTag(rdn, UNIVERSAL, SET, true))) {
      const [type, value, extra] = seq(atv);
      if (value === undefined || extra !== undefined) {
        throw new DerError();
      }
      oidOf(expectTag(type, UNIVERSAL, 6));
      checkTree(value, 0);
    }
  }
  return encodingOf(expectTag(node, UNIVERSAL, SEQUENCE));
}

function attributes(node: DerNode): ParsedAttribute[] {
  checkTree(node, 0);
  return childrenOf(node).map((a) => {
    const [type, values, extra] = seq(a);
    if (extra !== undefined) {
      throw new DerError();
    }
    return {
      type: oidOf(expectTag(type, UNIVERSAL, 6)),
      values: childrenOf(expectTag(values, UNIVERSAL, SET, true)),
    };
  });
}

function signerOf(node: DerNode): ParsedSigner {
  const fields = seq(node);
  let i = 0;
  const version = smallInteger(expectTag(fields[i++], UNIVERSAL, 2));
  const sidNode = fields[i++];
  let sid: ParsedSigner['sid'];
  if (version === 1 && isTag(sidNode, UNIVERSAL, SEQUENCE)) {
    const [issuer, serial, extra] = seq(sidNode);
    if (extra !== undefined) {
      throw new DerError();
    }
    sid = {
      kind: 'issuerSerial',
      issuerDer: nameOf(issuer),
      serialHex: serialHex(integerContent(expectTag(serial, UNIVERSAL, 2))),
    };
  } else if (version === 3 && isTag(sidNode, CONTEXT, 0) && !sidNode.constructed) {
    sid = { kind: 'skid', keyId: toHex(contentOf(sidNode)) };
  } else {
    throw new DerError();
  }
  const digest = algorithm(fields[i++]);
  let signedNode: DerNode | undefined;
  if (isTag(fields[i], CONTEXT, 0)) {
    signedNode = expectTag(fields[i++], CONTEXT, 0, true);
  }
  const signatureAlg = algorithm(fields[i++]);
  const signature = contentOf(expectTag(fields[i++], UNIVERSAL, OCTET_STRING, false));
  // Unsigned attributes are not used (nor covered by the signature): one constructed element, not read further.
  const unsignedNode = isTag(fields[i], CONTEXT, 1)
    ? expectTag(fields[i++], CONTEXT, 1, true)
    : undefined;
  if (i !== fields.length) {
    throw new DerError();
  }
  let signed: Pick<ParsedSigner, 'signedAttrs' | 'signedAttrsDer'> = {};
  if (signedNode !== undefined) {
    const signedAttrs = attributes(signedNode);
    // RFC 5652 §5.4: the signature is over the DER of the SET OF, i.e. the [0] IMPLICIT re-tagged as SET.
    const signedAttrsDer = Uint8Array.from(encodingOf(signedNode));
    signedAttrsDer[0] = 0x31;
    signed = { signedAttrs, signedAttrsDer };
  }
  return {
    version,
    sid,
    digestOid: digest.oid,
    digestParamsOk: digest.paramsOk,
    signatureOid: signatureAlg.oid,
    signature,
    ...signed,
    hasUnsignedAttrs: unsignedNode !== undefined,
  };
}

/**
 * eContent: one primitive OCTET STRING, or (BER) a constructed one of at most {@link MAX_SEGMENTS} primitive
 * segments (`openssl cms -stream` writes 4096-byte segments: 20 MiB is some 5,000).
 */
function octets(node: DerNode | undefined): Uint8Array {
  const s = expectTag(node, UNIVERSAL, OCTET_STRING);
  if (!s.constructed) {
    return contentOf(s);
  }
  const parts = childrenOf(s, false, MAX_SEGMENTS).map((p) =>
    contentOf(expectTag(p, UNIVERSAL, OCTET_STRING, false)),
  );
  return new Uint8Array(Buffer.concat(parts));
}

function encapsulated(node: DerNode | undefined): { eContentType: string; eContent?: Uint8Array } {
  const [type, wrapped, extra] = seq(node, true);
  if (extra !== undefined) {
    throw new DerError();
  }
  const eContentType = oidOf(expectTag(type, UNIVERSAL, 6));
  if (wrapped === undefined) {
    return { eContentType };
  }
  const inner = childrenOf(expectTag(wrapped, CONTEXT, 0, true), true);
  if (inner.length !== 1) {
    throw new DerError();
  }
  return { eContentType, eContent: octets(inner[0]) };
}

function certificatesOf(node: DerNode): CertificateInfo[] {
  // RFC 5652 §10.2.2 CertificateChoices: only `certificate` (a SEQUENCE) is accepted.
  const slices = childrenOf(node).map((c) => encodingOf(expectTag(c, UNIVERSAL, SEQUENCE, true)));
  return slices.map((der) => parseCertificate(der));
}

function walk(der: Uint8Array): Omit<ParsedCms, 'certificates'> & { certs?: DerNode } {
  const [contentType, wrapped, extra] = seq(readWhole(der, true), true);
  if (extra !== undefined || oidOf(expectTag(contentType, UNIVERSAL, 6)) !== OID.signedData) {
    throw new DerError();
  }
  const content = childrenOf(expectTag(wrapped, CONTEXT, 0, true), true);
  if (content.length !== 1) {
    throw new DerError();
  }
  const fields = seq(content[0], true);
  let i = 0;
  const version = smallInteger(expectTag(fields[i++], UNIVERSAL, 2));
  if (![1, 3, 4, 5].includes(version)) {
    throw new DerError();
  }
  const digestOids = childrenOf(definite(expectTag(fields[i++], UNIVERSAL, SET, true))).map(
    (a) => algorithm(a).oid,
  );
  const encap = encapsulated(fields[i++]);
  const certs = isTag(fields[i], CONTEXT, 0) ? expectTag(fields[i++], CONTEXT, 0, true) : undefined;
  if (isTag(fields[i], CONTEXT, 1)) {
    expectTag(fields[i++], CONTEXT, 1, true);
  }
  const signers = childrenOf(expectTag(fields[i++], UNIVERSAL, SET, true)).map(signerOf);
  if (i !== fields.length) {
    throw new DerError();
  }
  return { version, digestOids, ...encap, signers, ...(certs === undefined ? {} : { certs }) };
}

/**
 * Decodes a CMS SignedData (DER or PEM). Throws `ERR_CMS_MALFORMED` (or `ERR_CERT_MALFORMED` for an
 * embedded certificate that does not parse). For DER input, `eContent`, `signature` and the attribute values
 * are views into `input` (no copy): read them before the caller's buffer can change (before an `await`), or
 * copy them.
 *
 * @example
 * ```ts
 * const cms = parseSignedData(readFileSync('signed.p7m'));
 * cms.signers.length; // 1
 * ```
 */
export function parseSignedData(input: Uint8Array): ParsedCms {
  const der = cmsDer(input);
  let walked: ReturnType<typeof walk>;
  try {
    walked = walk(der);
  } catch (cause) {
    throw cmsError('ERR_CMS_MALFORMED', { cause });
  }
  const { certs, ...rest } = walked;
  let certificates: CertificateInfo[] = [];
  if (certs !== undefined) {
    try {
      certificates = certificatesOf(certs);
    } catch (cause) {
      if (cause instanceof DerError) {
        throw cmsError('ERR_CMS_MALFORMED', { cause });
      }
      throw cause;
    }
  }
  return { ...rest, certificates };
}
