/**
 * Lexing of a start tag in its general form (XML 1.0 §3.1), for the parser in xml-parser.ts when the tag is
 * not of the simple shape it recognises in one step.
 *
 * Rules:
 * - after the name: attributes, each preceded by S, as `Name S? = S? AttValue`; then `>` or `/>`;
 * - an attribute value is quoted with `"` or `'`, holds no `<`, and is normalised per §3.3.3
 *   (xml-chars.ts `attributeValue`); `plain` tells whether C14N must escape anything in it;
 * - no attribute name appears twice (§3.1 "Unique Att Spec"); namespaces are resolved by the caller.
 */
import { ATTRIBUTE_SPECIAL } from './xml-tree.js';
import {
  FORBIDDEN_CLASS,
  attributeValue,
  checkUnique,
  isSpace,
  malformed,
  scanQName,
} from './xml-chars.js';

const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const QUOT = 0x22;
const APOS = 0x27;

/** An attribute value that needs more than slicing. */
const ATTRIBUTE_WORK = new RegExp(`[<&\\t\\n\\r${FORBIDDEN_CLASS}]`);

/** An attribute as written (namespace declarations included), value normalised. */
export interface RawAttribute {
  readonly name: string;
  readonly value: string;
  /** Offset of the name. */
  readonly start: number;
  /** Offset just after the closing quote. */
  readonly end: number;
  readonly plain: boolean;
}

/** What follows the name of a start tag. */
export interface StartTagRest {
  readonly attributes: readonly RawAttribute[];
  /** Offset just after `>` or `/>`. */
  readonly end: number;
  /** `/>` (an empty-element tag). */
  readonly empty: boolean;
}

/**
 * Reads the attributes and the end of the start tag whose name ends at `nameEnd` in `s`.
 *
 * @example
 * ```ts
 * scanStartTagRest('<r a = "1" b=\'2\'/>', 2); // { attributes: [a, b], end: 18, empty: true }
 * ```
 */
export function scanStartTagRest(s: string, nameEnd: number): StartTagRest {
  const attributes: RawAttribute[] = [];
  let pos = nameEnd;
  for (;;) {
    const c = s.charCodeAt(pos);
    if (c === GT) {
      pos++;
      break;
    }
    if (c === SLASH) {
      if (s.charCodeAt(pos + 1) !== GT) {
        throw malformed('start tag', pos);
      }
      checkUnique(
        attributes.map((a) => a.name),
        nameEnd,
      );
      return { attributes, end: pos + 2, empty: true };
    }
    if (!isSpace(c)) {
      throw malformed(pos >= s.length ? 'truncated' : 'start tag', pos);
    }
    pos++;
    while (isSpace(s.charCodeAt(pos))) {
      pos++;
    }
    const d = s.charCodeAt(pos);
    if (d === GT || d === SLASH) {
      continue;
    }
    const attribute = scanAttribute(s, pos);
    attributes.push(attribute);
    pos = attribute.end;
  }
  checkUnique(
    attributes.map((a) => a.name),
    nameEnd,
  );
  return { attributes, end: pos, empty: false };
}

function scanAttribute(s: string, start: number): RawAttribute {
  const nameEnd = scanQName(s, start);
  let pos = nameEnd;
  while (isSpace(s.charCodeAt(pos))) {
    pos++;
  }
  if (s.charCodeAt(pos) !== EQUALS) {
    throw malformed('attribute', pos);
  }
  pos++;
  while (isSpace(s.charCodeAt(pos))) {
    pos++;
  }
  const quote = s.charCodeAt(pos);
  if (quote !== QUOT && quote !== APOS) {
    throw malformed('attribute', pos);
  }
  const close = s.indexOf(quote === QUOT ? '"' : "'", pos + 1);
  if (close < 0) {
    throw malformed('truncated', s.length);
  }
  const text = s.slice(pos + 1, close);
  // Without a reference or a TAB/LF/CR the value is the raw text; then C14N escapes nothing unless it is a
  // single-quoted value holding '"'.
  const simple = !ATTRIBUTE_WORK.test(text);
  const value = simple ? text : attributeValue(text, pos + 1);
  return {
    name: s.slice(start, nameEnd),
    value,
    start,
    end: close + 1,
    plain: simple ? quote === QUOT || !text.includes('"') : !ATTRIBUTE_SPECIAL.test(value),
  };
}
