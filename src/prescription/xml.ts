/**
 * Safe parse of untrusted XML (prescriptions and XML-DSig submitted for signing or verification) into the
 * light tree of xml-tree.ts, with our own strict parser (xml-parser.ts); no DOM library is involved.
 *
 * Rules enforced, in this order (docs/design-notes.md §1 "Pre-parse gate"):
 * 1. size cap on the encoded bytes (default 10 MiB), before anything is decoded;
 * 2. strict UTF-8 (WHATWG Encoding "fatal" mode; a leading BOM is dropped); an `encoding=` other than UTF-8
 *    is rejected;
 * 3. no `<!DOCTYPE` and no `<!ENTITY` anywhere (so no entity is ever declared, let alone expanded);
 * 4. only characters allowed by XML 1.0 §2.2, raw or as character references (checked by the parser as it
 *    reads each piece; lone surrogates, which only a string argument can hold, here);
 * 5. well-formedness (XML 1.0 fifth edition) is checked in full and any error is fatal: nothing is guessed;
 * 6. exactly one root element and nothing but whitespace, comments and the XML declaration around it;
 * 7. no processing instruction other than the leading XML declaration; comments only if allowed;
 * 8. namespace well-formedness (every prefix bound, no prefix undeclared, no duplicate expanded attribute name);
 * 9. element nesting no deeper than `maxDepth` (the canonicaliser recurses).
 */
import { prescriptionError } from './errors.js';
import { parseTree } from './xml-parser.js';
import type { XmlDocument } from './xml-tree.js';

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

// XML 1.0 §2.2 Char: the parser checks each piece it reads; only a string argument can hold a lone surrogate
// (decoded UTF-8 never does), so that one is looked for here.
const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const XML_DECL_ENCODING = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses untrusted XML into an {@link XmlDocument}, or throws a `ServiceError` with an `ERR_XML_*` code.
 * Never resolves or expands entities; never prints.
 *
 * @example
 * ```ts
 * const doc = parseXml(await readFile('prescription.xml'), { rejectComments: true });
 * doc.root.localName; // 'ParentPrescription'
 * ```
 */
export function parseXml(input: Uint8Array | string, options: ParseXmlOptions = {}): XmlDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) {
    throw prescriptionError('ERR_XML_TOO_LARGE', { detail: { size, maxBytes } });
  }
  let text = typeof input === 'string' ? input : decodeUtf8(input);
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1); // a string's BOM (the decoder drops the bytes' own)
  }
  if (hasDtdMarkup(text)) {
    throw prescriptionError('ERR_XML_DOCTYPE_FORBIDDEN');
  }
  const encoding = XML_DECL_ENCODING.exec(text)?.[1];
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
    throw prescriptionError('ERR_XML_ENCODING_INVALID');
  }
  if (typeof input === 'string' && SURROGATE.test(text) && LONE_SURROGATE.test(text)) {
    throw prescriptionError('ERR_XML_MALFORMED', { detail: { reason: 'character' } });
  }
  return parseTree(
    text,
    options.maxDepth ?? DEFAULT_MAX_XML_DEPTH,
    options.rejectComments ?? false,
  );
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    // WHATWG Encoding §4.1: "fatal" turns any ill-formed sequence into an error instead of U+FFFD.
    return UTF8.decode(bytes);
  } catch (cause) {
    throw prescriptionError('ERR_XML_ENCODING_INVALID', { cause });
  }
}

/** `<!DOCTYPE` or `<!ENTITY`, in any case, anywhere (in comments and CDATA too, as the old gate did). */
function hasDtdMarkup(text: string): boolean {
  for (let i = text.indexOf('<!'); i >= 0; i = text.indexOf('<!', i + 2)) {
    const word = text.slice(i + 2, i + 9).toUpperCase();
    if (word === 'DOCTYPE' || word.startsWith('ENTITY')) {
      return true;
    }
  }
  return false;
}
