/**
 * The error codes of src/prescription (untrusted XML, HL7 v3 ParentPrescription fragments, SignedInfo).
 *
 * Rules:
 * - messages are fixed strings: they never echo the document, an element name or a parser's text;
 * - the parser's own error, where there is one, travels as `cause` (for the log only).
 */
import { errorFactory, type ErrorTable } from '../errors.js';

export type PrescriptionErrorCode =
  | 'ERR_XML_MALFORMED'
  | 'ERR_XML_TOO_LARGE'
  | 'ERR_XML_TOO_DEEP'
  | 'ERR_XML_ENCODING_INVALID'
  | 'ERR_XML_DOCTYPE_FORBIDDEN'
  | 'ERR_XML_PI_FORBIDDEN'
  | 'ERR_XML_COMMENT_FORBIDDEN'
  | 'ERR_PRESCRIPTION_NOT_FOUND'
  | 'ERR_PRESCRIPTION_AMBIGUOUS'
  | 'ERR_PRESCRIPTION_MALFORMED'
  | 'ERR_PRESCRIPTION_SIGNATURE_NOT_FOUND'
  | 'ERR_PRESCRIPTION_TIMESTAMP_INVALID'
  | 'ERR_SIGNED_INFO_MALFORMED'
  | 'ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED';

export const PRESCRIPTION_ERRORS: ErrorTable<PrescriptionErrorCode> = {
  ERR_XML_MALFORMED: {
    status: 400,
    message: 'the XML document is malformed',
    fix: 'Send one well-formed, namespace-well-formed XML 1.0 document with a single root element.',
  },
  ERR_XML_TOO_LARGE: {
    status: 413,
    message: 'the XML document is too large',
    fix: 'Send an XML document smaller than the documented limit (10 MiB by default).',
  },
  ERR_XML_TOO_DEEP: {
    status: 400,
    message: 'the XML document is nested too deeply',
    fix: 'Send a document whose elements are nested no deeper than the documented limit (256 levels).',
  },
  ERR_XML_ENCODING_INVALID: {
    status: 400,
    message: 'the XML document is not valid UTF-8',
    fix: 'Encode the document as UTF-8 (and declare encoding="UTF-8" or no encoding at all).',
  },
  ERR_XML_DOCTYPE_FORBIDDEN: {
    status: 400,
    message: 'DOCTYPE and ENTITY declarations are not allowed',
    fix: 'Remove the <!DOCTYPE …> and any <!ENTITY …> declarations; HL7 v3 messages do not need them.',
  },
  ERR_XML_PI_FORBIDDEN: {
    status: 400,
    message: 'processing instructions are not allowed',
    fix: 'Remove every <?…?> processing instruction other than the leading XML declaration.',
  },
  ERR_XML_COMMENT_FORBIDDEN: {
    status: 400,
    message: 'comments are not allowed in this document',
    fix: 'Remove the <!-- … --> comments from the document.',
  },
  ERR_PRESCRIPTION_NOT_FOUND: {
    status: 400,
    message: 'no HL7 v3 ParentPrescription was found',
    fix: 'Send a ParentPrescription (namespace urn:hl7-org:v3), or a message that contains exactly one.',
  },
  ERR_PRESCRIPTION_AMBIGUOUS: {
    status: 400,
    message: 'the document contains more than one ParentPrescription',
    fix: 'Send one prescription per request.',
  },
  ERR_PRESCRIPTION_MALFORMED: {
    status: 400,
    message: 'the ParentPrescription lacks a part that is signed',
    fix: 'Include recordTarget and pertinentInformation1/pertinentPrescription with id, author/time, author/AgentPerson and at least one pertinentInformation2/pertinentLineItem.',
  },
  ERR_PRESCRIPTION_SIGNATURE_NOT_FOUND: {
    status: 400,
    message: 'the prescription carries no XML-DSig signature',
    fix: 'Put one Signature (namespace http://www.w3.org/2000/09/xmldsig#) in pertinentPrescription/author/signatureText.',
  },
  ERR_PRESCRIPTION_TIMESTAMP_INVALID: {
    status: 400,
    message: 'the signing timestamp is invalid',
    fix: 'Send an ISO 8601 date-time with seconds and an offset, e.g. 2024-12-09T11:50:04+00:00.',
  },
  ERR_SIGNED_INFO_MALFORMED: {
    status: 400,
    message: 'the XML-DSig SignedInfo is malformed',
    fix: 'Send a Signature (namespace http://www.w3.org/2000/09/xmldsig#) with one SignedInfo holding SignatureMethod and one Reference with DigestMethod and DigestValue.',
  },
  ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED: {
    status: 400,
    message: 'the signature or digest algorithm is not supported',
    fix: 'Use rsa-sha256 with sha256 (RS256), or rsa-sha1 with sha1 (RS1) for legacy cards, with exclusive C14N.',
  },
};

/**
 * Builds a prescription error from {@link PRESCRIPTION_ERRORS}.
 *
 * @example
 * ```ts
 * throw prescriptionError('ERR_XML_MALFORMED', { cause: err });
 * ```
 */
export const prescriptionError = errorFactory(PRESCRIPTION_ERRORS);
