/**
 * Character classes of XML 1.0 (fifth edition) for the parser in xml-parser.ts.
 *
 * Rules:
 * - §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF];
 * - §2.3 NameStartChar and NameChar, with the colon left out: Namespaces in XML 1.0 §3 splits a QName at
 *   its one colon, and each half is an NCName;
 * - §2.3 S (white space): #x20 | #x9 | #xD | #xA.
 */

const START = 1;
const CHAR = 2;

/** ASCII lookup: bit START for NameStartChar, bit CHAR for NameChar (colon excluded from both). */
const ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  const other = (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
  ASCII[c] = letter ? START | CHAR : other ? CHAR : 0;
}

/** NameStartChar without ':' for a code point (BMP or supplementary). */
export function isNameStart(c: number): boolean {
  if (c < 128) {
    return ((ASCII[c] ?? 0) & START) !== 0;
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
export function isNameChar(c: number): boolean {
  if (c < 128) {
    return ((ASCII[c] ?? 0) & CHAR) !== 0;
  }
  return isNameStart(c) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) || (c >= 0x203f && c <= 0x2040);
}

/** §2.2 Char, for a code point produced by a character reference. */
export function isXmlChar(c: number): boolean {
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
    const c = value.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) {
      return false;
    }
  }
  return true;
}
