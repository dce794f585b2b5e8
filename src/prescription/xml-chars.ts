/**
 * The lexical rules of XML 1.0 (fifth edition) that the parser in xml-parser.ts applies to pieces of text.
 *
 * Rules:
 * - §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]; {@link FORBIDDEN}
 *   matches the BMP code units outside it (lone surrogates are looked for separately, see xml.ts);
 * - §2.3 NameStartChar and NameChar, with the colon left out: Namespaces in XML 1.0 §3 splits a QName at
 *   its one colon, and each half is an NCName; §2.3 S (white space): #x20 | #x9 | #xD | #xA;
 * - §4.1/§4.6 references: only `&lt; &gt; &amp; &quot; &apos;` and character references to a Char;
 *   anything else (an undeclared entity, a bare `&`) is malformed, and nothing expands beyond one character;
 * - §3.3.3 attribute values (every attribute is CDATA without a DTD): each literal TAB, LF and CR (a CRLF
 *   pair counting as one) becomes a space, then references are replaced;
 * - Namespaces in XML 1.0 §3: `xmlns` is never declared, `xml` binds only to its namespace and that
 *   namespace to no other prefix, the xmlns namespace is never bound, and `xmlns:p=""` is forbidden.
 */
import { prescriptionError } from './errors.js';

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** The BMP code units §2.2 forbids, as a character-class body (for the parser's combined classes). */
export const FORBIDDEN_CLASS = '\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF';
export const FORBIDDEN = new RegExp(`[${FORBIDDEN_CLASS}]`);

/** A malformed-document error; the detail holds a fixed reason and an offset, never input. */
export function malformed(reason: string, offset: number): Error {
  return prescriptionError('ERR_XML_MALFORMED', { detail: { reason, offset } });
}

/** NameStartChar without ':' for a code point (BMP or supplementary). */
function isNameStart(c: number): boolean {
  if (c < 0x80) {
    return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
  }
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    (c >= 0x200c && c <= 0x200d) ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0xeffff)
  );
}

/** NameChar without ':' for a code point. */
function isNameChar(c: number): boolean {
  return (
    isNameStart(c) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0xb7 ||
    (c >= 0x300 && c <= 0x36f) ||
    (c >= 0x203f && c <= 0x2040)
  );
}

/** §2.2 Char, for a code point produced by a character reference. */
function isXmlChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

/** §2.3 S. */
export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/** True when `value` holds only S characters (or nothing). */
export function isAllSpace(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (!isSpace(value.charCodeAt(i))) {
      return false;
    }
  }
  return true;
}

/**
 * The end of the QName starting at `pos` in `s` (XML 1.0 §2.3 Name that is a Namespaces QName); throws
 * when there is none.
 */
export function scanQName(s: string, pos: number): number {
  ASCII_QNAME.lastIndex = pos;
  if (ASCII_QNAME.test(s)) {
    const end = ASCII_QNAME.lastIndex;
    const next = s.charCodeAt(end);
    if (!(next >= 0x80) && next !== 0x3a) {
      return end; // the whole name is ASCII (the common case)
    }
  }
  let i = pos;
  let colon = -1;
  for (;;) {
    const cp = s.codePointAt(i) ?? 0;
    if (cp === 0x3a && colon < 0) {
      colon = i++;
      continue;
    }
    if (!isNameChar(cp)) {
      break;
    }
    i += cp > 0xffff ? 2 : 1;
  }
  const bad =
    i === pos ||
    !isNameStart(s.codePointAt(pos) ?? 0) ||
    (colon >= 0 && (colon === i - 1 || !isNameStart(s.codePointAt(colon + 1) ?? 0))) ||
    s.charCodeAt(i) === 0x3a; // a second colon
  if (bad) {
    throw malformed('name', pos);
  }
  return i;
}

/** A QName of ASCII characters only: NCName (':' NCName)?. */
const ASCII_QNAME = /[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?/y;

const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

/** Replaces the predefined entity and character references (§4.1, §4.6); anything else is malformed. */
export function replaceReferences(value: string, offset: number): string {
  let out = '';
  let last = 0;
  for (let amp = value.indexOf('&'); amp >= 0; amp = value.indexOf('&', last)) {
    const semi = value.indexOf(';', amp + 1);
    if (semi < 0) {
      throw malformed('reference', offset + amp);
    }
    const ref = value.slice(amp + 1, semi);
    let char = PREDEFINED[ref];
    if (char === undefined) {
      const code = /^#x[0-9A-Fa-f]+$/.test(ref)
        ? parseInt(ref.slice(2), 16)
        : /^#[0-9]+$/.test(ref)
          ? parseInt(ref.slice(1), 10)
          : -1;
      if (!isXmlChar(code)) {
        throw malformed('reference', offset + amp);
      }
      char = String.fromCodePoint(code);
    }
    out += value.slice(last, amp) + char;
    last = semi + 1;
  }
  return out + value.slice(last);
}

/** §3.3.3 for a CDATA attribute's raw value; `offset` is where it starts (for the error detail). */
export function attributeValue(raw: string, offset: number): string {
  if (raw.includes('<')) {
    throw malformed('"<" in attribute value', offset);
  }
  if (FORBIDDEN.test(raw)) {
    throw malformed('character', offset);
  }
  const spaced = raw.replace(/\r\n|[\t\n\r]/g, ' ');
  return spaced.includes('&') ? replaceReferences(spaced, offset) : spaced;
}

/** §2.11: CRLF and a lone CR become LF. */
export function normaliseNewlines(value: string): string {
  return value.includes('\r') ? value.replace(/\r\n?/g, '\n') : value;
}

/** Namespaces in XML 1.0 §3 constraints on one declaration. */
export function checkDeclaration(prefix: string, uri: string, offset: number): void {
  if (prefix !== '' && uri === '') {
    throw malformed('prefix undeclared', offset);
  }
  if (
    prefix === 'xmlns' ||
    uri === XMLNS_NAMESPACE ||
    (prefix === 'xml') !== (uri === XML_NAMESPACE)
  ) {
    throw malformed('reserved namespace', offset);
  }
}

/** Above this many keys, duplicates are found with a Set rather than by pairs. */
const SMALL = 8;

/** Throws when two keys are equal (duplicate attributes, §3.1 and Namespaces §6.3). */
export function checkUnique(keys: readonly string[], offset: number): void {
  if (keys.length <= SMALL) {
    for (let i = 1; i < keys.length; i++) {
      for (let j = 0; j < i; j++) {
        if (keys[i] === keys[j]) {
          throw malformed('attribute', offset);
        }
      }
    }
  } else if (new Set(keys).size !== keys.length) {
    throw malformed('attribute', offset);
  }
}

/** {@link checkUnique} of the names of `attributes`, without building the list for the usual few. */
export function checkUniqueNames(
  attributes: readonly { readonly name: string }[],
  offset: number,
): void {
  if (attributes.length > SMALL) {
    checkUnique(
      attributes.map((a) => a.name),
      offset,
    );
    return;
  }
  for (let i = 1; i < attributes.length; i++) {
    const name = attributes[i]?.name;
    for (let j = 0; j < i; j++) {
      if (attributes[j]?.name === name) {
        throw malformed('attribute', offset);
      }
    }
  }
}
