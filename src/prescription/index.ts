/**
 * The prescription folder's public surface: the hardened XML parser and tree, exclusive C14N of the HL7 v3
 * fragments, the SignedInfo of an EPS signature, and the HL7 timestamp. The parser's scanners
 * (`xml-chars.ts`, `xml-start-tag.ts`, `xml-scope.ts`, `xml-parser.ts`) stay internal.
 */
export {
  DEFAULT_MAX_XML_BYTES,
  DEFAULT_MAX_XML_DEPTH,
  parseXml,
  type ParseXmlOptions,
} from './xml.js';
export {
  attributeValue,
  CDATA,
  COMMENT,
  ELEMENT,
  TEXT,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
} from './xml-tree.js';
export {
  buildFragmentsToBeHashed,
  findParentPrescription,
  fragmentsFromDocument,
  HL7_NAMESPACE,
  signatureOfPrescription,
  type FragmentOptions,
} from './fragments.js';
export {
  buildSignedInfo,
  canonicalSignedInfoFromSignature,
  checkEpsSignedInfo,
  parseSignedInfoAlgorithm,
  XMLDSIG_NAMESPACE,
  type SignatureAlgorithm,
  type SignedInfoAlgorithm,
} from './signed-info.js';
export { isoToHl7Timestamp } from './timestamp.js';
export { PRESCRIPTION_ERRORS, prescriptionError, type PrescriptionErrorCode } from './errors.js';
