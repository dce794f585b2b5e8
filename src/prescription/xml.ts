/// <reference lib="dom" />
/**
 * Safe parse of untrusted XML (prescriptions and XML-DSig submitted for signing or verification).
 *
 * Rules enforced, in this order (anchors.md §4 "Pre-parse gate"):
 * 1. size cap on the encoded bytes (default 10 MiB), before anything is decoded;
 * 2. strict UTF-8 (WHATWG Encoding "fatal" mode); an `encoding=` other than UTF-8 is rejected;
 * 3. no `<!DOCTYPE` and no `<!ENTITY` anywhere (so no entity is ever declared, let alone expanded);
 * 4. only characters allowed by XML 1.0 §2.2 (raw or as character references);
 * 5. any parser error or warning is fatal (xmldom 0.8 is lenient and would otherwise guess);
 * 6. exactly one root element and nothing but whitespace, comments and the XML declaration around it;
 * 7. no processing instruction other than the leading XML declaration; comments only if allowed;
 * 8. namespace well-formedness (every prefix bound, no duplicate expanded attribute name);
 * 9. element nesting no deeper than `maxDepth` (the canonicaliser recurses).
 */
import { DOMParser } from '@xmldom/xmldom';

import { prescriptionError } from './errors.js';

export const DEFAULT_MAX_XML_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_XML_DEPTH = 256;

/** Options of {@link parseXml}. */
export interface ParseXmlOptions {
  /** Largest accepted document in bytes (UTF-8); default 10 MiB. */
  readonly maxBytes?: number;
  /** Deepest accepted element nesting; default 256. */
  readonly maxDepth?: number;
  /** Reject any comment (`ERR_XML_COMMENT_FORBIDDEN`); default false (comments are dropped by C14N). */
  readonly rejectComments?: boolean;
}

// XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
const FORBIDDEN_CHAR =
  // eslint-disable-next-line no-control-regex -- matching the control characters XML forbids is the point.
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DTD_MARKUP = /<!(?:DOCTYPE|ENTITY)/i;
const XML_DECL_ENCODING = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']/;

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const PI = 7;
const COMMENT = 8;

/**
 * Parses untrusted XML into a DOM Document, or throws a `ServiceError` with an `ERR_XML_*` code.
 * Never resolves or expands entities; never prints.
 *
 * @example
 * ```ts
 * const doc = parseXml(await readFile('prescription.xml'), { rejectComments: true });
 * doc.documentElement.localName; // 'ParentPrescription'
 * ```
 */
export function parseXml(input: Uint8Array | string, options: ParseXmlOptions = {}): Document {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) {
    throw prescriptionError('ERR_XML_TOO_LARGE', { detail: { size, maxBytes } });
  }
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  if (DTD_MARKUP.test(text)) {
    throw prescriptionError('ERR_XML_DOCTYPE_FORBIDDEN');
  }
  const encoding = XML_DECL_ENCODING.exec(text)?.[1];
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
    throw prescriptionError('ERR_XML_ENCODING_INVALID');
  }
  if (FORBIDDEN_CHAR.test(text)) {
    throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'character' } });
  }
  const problems: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      // Collect, do not throw: xmldom catches exceptions from its handler in places and carries on.
      errorHandler: (level: string) => {
        problems.push(level);
      },
    }).parseFromString(text, 'application/xml');
  } catch (cause) {
    throw prescriptionError('ERR_XML_MALFORMED', { cause });
  }
  if (problems.length > 0) {
    throw prescriptionError('ERR_XML_MALFORMED', { detail: { parser: problems.slice(0, 5) } });
  }
  checkDocument(doc, options);
  return doc;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    // WHATWG Encoding §4.1: "fatal" turns any ill-formed sequence into an error instead of U+FFFD.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw prescriptionError('ERR_XML_ENCODING_INVALID', { cause });
  }
}

function checkDocument(doc: Document, options: ParseXmlOptions): void {
  const rejectComments = options.rejectComments ?? false;
  let roots = 0;
  for (let node = doc.firstChild, index = 0; node !== null; node = node.nextSibling, index++) {
    switch (node.nodeType) {
      case ELEMENT:
        roots++;
        break;
      case PI:
        // xmldom exposes the XML declaration as a PI with target "xml"; it may only come first.
        if (!(index === 0 && (node as ProcessingInstruction).target === 'xml')) {
          throw prescriptionError('ERR_XML_PI_FORBIDDEN');
        }
        break;
      case COMMENT:
        if (rejectComments) {
          throw prescriptionError('ERR_XML_COMMENT_FORBIDDEN');
        }
        break;
      case TEXT:
        if (!/^[ \t\r\n]*$/.test((node as Text).data)) {
          throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'text outside root' } });
        }
        break;
      default:
        throw prescriptionError('ERR_XML_DOCTYPE_FORBIDDEN');
    }
  }
  const root = doc.documentElement;
  if (roots !== 1 || root === null) {
    throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'root' } });
  }
  checkTree(root, options.maxDepth ?? DEFAULT_MAX_XML_DEPTH, rejectComments);
}

/** Iterative walk (no recursion before the depth is known to be bounded). */
function checkTree(root: Element, maxDepth: number, rejectComments: boolean): void {
  const stack: { node: Node; depth: number }[] = [{ node: root, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, depth } = item;
    switch (node.nodeType) {
      case ELEMENT: {
        if (depth > maxDepth) {
          throw prescriptionError('ERR_XML_TOO_DEEP', { detail: { maxDepth } });
        }
        checkElement(node as Element);
        for (let child = node.lastChild; child !== null; child = child.previousSibling) {
          stack.push({ node: child, depth: depth + 1 });
        }
        break;
      }
      case TEXT:
      case CDATA:
        if (FORBIDDEN_CHAR.test((node as CharacterData).data)) {
          throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'character' } });
        }
        break;
      case PI:
        throw prescriptionError('ERR_XML_PI_FORBIDDEN');
      case COMMENT:
        if (rejectComments) {
          throw prescriptionError('ERR_XML_COMMENT_FORBIDDEN');
        }
        break;
      default:
        // Entity references and the like never come out of a document without a DTD.
        throw prescriptionError('ERR_XML_DOCTYPE_FORBIDDEN');
    }
  }
}

function checkElement(element: Element): void {
  if (element.prefix && !element.namespaceURI) {
    throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'unbound prefix' } });
  }
  const seen = new Set<string>();
  for (let i = 0; i < element.attributes.length; i++) {
    const attr = element.attributes.item(i);
    if (attr === null) {
      continue;
    }
    if (attr.prefix === 'xmlns' && attr.value === '') {
      // Namespaces in XML 1.0 §3 [NSC: No Prefix Undeclaring].
      throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'prefix undeclared' } });
    }
    if (attr.prefix && !attr.namespaceURI) {
      throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'unbound prefix' } });
    }
    // Namespaces in XML 1.0 §6.3: no two attributes with the same expanded name.
    const key = `${attr.namespaceURI ?? ''} ${attr.localName ?? attr.name}`;
    if (seen.has(key) || FORBIDDEN_CHAR.test(attr.value)) {
      throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'attribute' } });
    }
    seen.add(key);
  }
}
