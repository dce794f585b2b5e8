/**
 * A strict, non-validating XML 1.0 (fifth edition) and Namespaces in XML 1.0 parser over an already decoded
 * string, building the tree of xml-tree.ts. It knows no DTD at all: xml.ts has rejected DOCTYPE and ENTITY
 * markup and characters outside §2.2 Char before it runs. Any violation throws a `ServiceError`
 * (ERR_XML_MALFORMED unless said otherwise) whose detail holds a fixed reason and an offset, never input.
 *
 * Rules:
 * - an XML declaration is allowed only at offset 0, in the §2.8 grammar (version 1.x, optional encoding and
 *   standalone); every other `<?…?>` is a processing instruction → ERR_XML_PI_FORBIDDEN;
 * - exactly one root element; around it only S and comments; `<!` other than a comment or (inside the root)
 *   a CDATA section is malformed;
 * - names are §2.3 Names that are also QNames (at most one colon, neither first nor last, an NCName on each
 *   side); end tags match their start tags; S is required between attributes; attribute values are quoted
 *   and hold no `<`; an attribute name appears once per element;
 * - references: only `&lt; &gt; &amp; &quot; &apos;` and character references to a §2.2 Char; anything else
 *   (an undeclared entity, a bare `&`) is malformed; nothing is ever expanded beyond one character;
 * - text holds no `]]>`; comments hold no `--` and do not end in `-`; CDATA is taken verbatim;
 * - §2.11 line endings: CRLF and lone CR become LF in text, CDATA and comments (character references are
 *   not touched); §3.3.3 attribute values: each literal TAB, LF, CR (a CRLF pair counting as one) becomes
 *   a space, references are then replaced, and nothing else is changed (every attribute is CDATA);
 * - namespaces: every prefix used by an element or attribute is declared (`xml` is predeclared); `xmlns:p=""`
 *   is forbidden (§3 NSC: No Prefix Undeclaring); `xmlns` is never a prefix, `xml` binds only to its
 *   namespace and that namespace to no other prefix; no two attributes share an expanded name (§6.3);
 * - nesting deeper than `maxDepth` → ERR_XML_TOO_DEEP, as soon as it is seen; the parser never recurses;
 * - comments → ERR_XML_COMMENT_FORBIDDEN when `rejectComments`;
 * - every search moves forward through the input, so the work is linear in its length.
 */
import { prescriptionError } from './errors.js';
import { isAllSpace, isNameChar, isNameStart, isSpace, isXmlChar } from './xml-names.js';
import {
  ATTRIBUTE_SPECIAL,
  CDATA,
  TEXT,
  XmlAttribute,
  XmlComment,
  XmlElement,
  XmlNamespace,
  XmlText,
  type XmlDocument,
} from './xml-tree.js';

const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const QUOT = 0x22;
const APOS = 0x27;

// §2.8 XMLDecl, matched at offset 0 only.
const XML_DECLARATION =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/y;
const NEEDS_ATTRIBUTE_WORK = /[<&\t\n\r]/;
const TEXT_WORK = /[&>\r]/;
/** A QName of ASCII characters only: NCName (':' NCName)?; the slow path handles the rest of §2.3. */
const ASCII_QNAME = /[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?/y;
/**
 * The common start tag, recognised in one step: an ASCII QName, then unprefixed ASCII attributes each after
 * one space, `="…"` with no reference, `<` or TAB/LF/CR in the value, then `>` or `/>`. Whatever else is
 * well-formed (other spacing, single quotes, references, prefixed attributes, namespace declarations,
 * non-ASCII names) takes the general path.
 */
const SIMPLE_START_TAG =
  /<[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?(?: [A-Za-z_][A-Za-z0-9._-]*="[^"<&\t\n\r]*")*\/?>/y;
const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};
const NO_ATTRIBUTES: readonly XmlAttribute[] = Object.freeze([]);
const NO_NAMESPACES: readonly XmlNamespace[] = Object.freeze([]);
const ROOT_SCOPE: ReadonlyMap<string, string> = new Map([['xml', XML_NAMESPACE]]);
/** Above this many attributes, duplicates are found with a Set rather than by pairs. */
const SMALL = 8;

const malformed = (reason: string, offset: number): Error =>
  prescriptionError('ERR_XML_MALFORMED', { detail: { reason, offset } });

/**
 * Parses `source` (decoded, without a byte order mark) into a tree, or throws.
 *
 * @example
 * ```ts
 * const doc = parseTree('<r xmlns="urn:x"><a b="1"/></r>', 256, false);
 * doc.root.children.length; // 1
 * ```
 */
export function parseTree(source: string, maxDepth: number, rejectComments: boolean): XmlDocument {
  return new Parser(source, maxDepth, rejectComments).document();
}

interface RawAttribute {
  readonly name: string;
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly plain: boolean;
}

class Parser {
  readonly #s: string;
  readonly #maxDepth: number;
  readonly #rejectComments: boolean;
  readonly #elements: XmlElement[] = [];
  readonly #open: XmlElement[] = [];
  readonly #scopes: ReadonlyMap<string, string>[] = [];

  constructor(source: string, maxDepth: number, rejectComments: boolean) {
    this.#s = source;
    this.#maxDepth = maxDepth;
    this.#rejectComments = rejectComments;
  }

  document(): XmlDocument {
    const s = this.#s;
    let pos = 0;
    if (s.startsWith('<?xml', 0) && isSpace(s.charCodeAt(5))) {
      XML_DECLARATION.lastIndex = 0;
      if (!XML_DECLARATION.test(s)) {
        throw malformed('XML declaration', 0);
      }
      pos = XML_DECLARATION.lastIndex;
    }
    let root: XmlElement | undefined;
    for (;;) {
      while (isSpace(s.charCodeAt(pos))) {
        pos++;
      }
      if (pos >= s.length) {
        break;
      }
      if (s.charCodeAt(pos) !== LT) {
        throw malformed('text outside root', pos);
      }
      const next = s.charCodeAt(pos + 1);
      if (next === BANG) {
        if (!s.startsWith('<!--', pos)) {
          throw malformed('markup outside root', pos);
        }
        pos = this.#comment(pos, undefined);
      } else if (next === QUESTION) {
        throw prescriptionError('ERR_XML_PI_FORBIDDEN', { detail: { offset: pos } });
      } else if (root !== undefined || next === SLASH) {
        throw malformed('root', pos);
      } else {
        pos = this.#startTag(pos, undefined);
        root = this.#elements[0];
        pos = this.#content(pos);
      }
    }
    if (root === undefined) {
      throw malformed('root', pos);
    }
    return { root, elements: this.#elements, source: s };
  }

  /** Everything inside the open elements, until the root's end tag; returns the offset after it. */
  #content(from: number): number {
    const s = this.#s;
    const open = this.#open;
    let pos = from;
    while (open.length > 0) {
      const parent = open[open.length - 1] as XmlElement;
      const lt = s.indexOf('<', pos);
      if (lt < 0) {
        throw malformed('truncated', s.length);
      }
      if (lt > pos) {
        this.#text(pos, lt, parent);
      }
      const next = s.charCodeAt(lt + 1);
      if (next === SLASH) {
        pos = this.#endTag(lt, parent);
      } else if (next === BANG) {
        if (s.startsWith('<!--', lt)) {
          pos = this.#comment(lt, parent);
        } else if (s.startsWith('<![CDATA[', lt)) {
          pos = this.#cdata(lt, parent);
        } else {
          throw malformed('markup', lt);
        }
      } else if (next === QUESTION) {
        throw prescriptionError('ERR_XML_PI_FORBIDDEN', { detail: { offset: lt } });
      } else {
        pos = this.#startTag(lt, parent);
      }
    }
    return pos;
  }

  /** The end of the name starting at `pos` (a QName, checked); throws when there is none. */
  #name(pos: number): number {
    const s = this.#s;
    ASCII_QNAME.lastIndex = pos;
    if (ASCII_QNAME.test(s)) {
      const end = ASCII_QNAME.lastIndex;
      const next = s.charCodeAt(end);
      if (!(next >= 0x80) && next !== 0x3a) {
        return end; // the whole name is ASCII (the common case)
      }
    }
    return this.#unicodeName(pos);
  }

  /** {@link #name} for names with characters outside ASCII (XML 1.0 §2.3 in full). */
  #unicodeName(pos: number): number {
    const s = this.#s;
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
    const first = s.codePointAt(pos) ?? 0;
    if (i === pos || !isNameStart(first)) {
      throw malformed('name', pos);
    }
    if (colon >= 0 && (colon === i - 1 || !isNameStart(s.codePointAt(colon + 1) ?? 0))) {
      throw malformed('name', pos);
    }
    if (s.charCodeAt(i) === 0x3a) {
      throw malformed('name', pos); // a second colon
    }
    return i;
  }

  #startTag(lt: number, parent: XmlElement | undefined): number {
    const s = this.#s;
    SIMPLE_START_TAG.lastIndex = lt;
    if (!SIMPLE_START_TAG.test(s)) {
      return this.#generalStartTag(lt, parent);
    }
    const end = SIMPLE_START_TAG.lastIndex;
    const empty = s.charCodeAt(end - 2) === SLASH;
    const close = empty ? end - 2 : end - 1;
    let space = s.indexOf(' ', lt + 1);
    if (space < 0 || space > close) {
      space = close;
    }
    let plain: XmlAttribute[] | undefined;
    for (let p = space; p < close;) {
      const eq = s.indexOf('=', p + 1);
      const attrName = s.slice(p + 1, eq);
      if (attrName === 'xmlns') {
        return this.#generalStartTag(lt, parent);
      }
      const quote = s.indexOf('"', eq + 2);
      const value = s.slice(eq + 2, quote);
      (plain ??= []).push(
        new XmlAttribute(attrName, '', attrName, '', value, p + 1, quote + 1, true),
      );
      p = quote + 1;
    }
    const element = this.#element(s.slice(lt + 1, space), plain, undefined, parent, lt);
    element.startTagEnd = end;
    if (empty) {
      this.#close(element, end);
    }
    return end;
  }

  /** Any start tag (XML 1.0 §3.1, Namespaces in XML 1.0 §3). */
  #generalStartTag(lt: number, parent: XmlElement | undefined): number {
    const s = this.#s;
    const nameEnd = this.#name(lt + 1);
    const name = s.slice(lt + 1, nameEnd);
    // Plain attributes (no prefix, not xmlns) are built at once; the others wait for the namespaces.
    let plain: XmlAttribute[] | undefined;
    let special: RawAttribute[] | undefined;
    let pos = nameEnd;
    let empty = false;
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
        pos += 2;
        empty = true;
        break;
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
      const attrStart = pos;
      const attrNameEnd = this.#name(pos);
      pos = attrNameEnd;
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
      const raw = s.slice(pos + 1, close);
      // Without a reference or a TAB/LF/CR the value is the raw text, and then only a '"' (in a
      // single-quoted value) needs escaping by C14N.
      const simple = !NEEDS_ATTRIBUTE_WORK.test(raw);
      const value = simple ? raw : attributeValue(raw, pos + 1);
      const plainValue = simple
        ? quote === QUOT || !raw.includes('"')
        : !ATTRIBUTE_SPECIAL.test(value);
      pos = close + 1;
      const attrName = s.slice(attrStart, attrNameEnd);
      if (attrName.includes(':') || attrName === 'xmlns') {
        (special ??= []).push({
          name: attrName,
          value,
          start: attrStart,
          end: pos,
          plain: plainValue,
        });
      } else {
        (plain ??= []).push(
          new XmlAttribute(attrName, '', attrName, '', value, attrStart, pos, plainValue),
        );
      }
    }
    const element = this.#element(name, plain, special, parent, lt);
    element.startTagEnd = pos;
    if (empty) {
      this.#close(element, pos);
    }
    return pos;
  }

  /** Resolves namespaces, checks the attributes, links the element in and opens it. */
  #element(
    name: string,
    plain: XmlAttribute[] | undefined,
    special: RawAttribute[] | undefined,
    parent: XmlElement | undefined,
    lt: number,
  ): XmlElement {
    let scope = this.#scopes[this.#scopes.length - 1] ?? ROOT_SCOPE;
    let namespaces = NO_NAMESPACES;
    let attributes: readonly XmlAttribute[] = plain ?? NO_ATTRIBUTES;
    if (special === undefined) {
      if (plain !== undefined && plain.length > 1) {
        checkUnique(
          plain.map((a) => a.name),
          lt,
        );
      }
    } else {
      const all = [...(plain ?? []), ...special];
      checkUnique(
        all.map((a) => a.name),
        lt,
      );
      let declared: XmlNamespace[] | undefined;
      for (const a of special) {
        if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) {
          const prefix = a.name === 'xmlns' ? '' : a.name.slice(6);
          checkDeclaration(prefix, a.value, a.start);
          (declared ??= []).push(new XmlNamespace(prefix, a.value, a.start, a.end));
        }
      }
      if (declared !== undefined) {
        const next = new Map(scope);
        for (const d of declared) {
          next.set(d.prefix, d.uri);
        }
        scope = next;
        namespaces = declared;
      }
      const list: XmlAttribute[] = [...(plain ?? [])];
      const expanded: string[] = [];
      for (const a of special) {
        if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) {
          continue;
        }
        const colon = a.name.indexOf(':');
        const prefix = a.name.slice(0, colon);
        const namespace = scope.get(prefix);
        if (namespace === undefined) {
          throw malformed('unbound prefix', a.start);
        }
        const localName = a.name.slice(colon + 1);
        list.push(
          new XmlAttribute(a.name, prefix, localName, namespace, a.value, a.start, a.end, a.plain),
        );
        expanded.push(`${namespace} ${localName}`);
      }
      // Namespaces in XML 1.0 §6.3: no two attributes with the same expanded name.
      checkUnique(expanded, lt);
      list.sort((a, b) => a.start - b.start); // document order
      attributes = list.length > 0 ? list : NO_ATTRIBUTES;
    }
    const colon = name.indexOf(':');
    const prefix = colon < 0 ? '' : name.slice(0, colon);
    const namespace = scope.get(prefix) ?? (colon < 0 ? '' : undefined);
    if (namespace === undefined || prefix === 'xmlns') {
      throw malformed('unbound prefix', lt);
    }
    const element = new XmlElement(
      name,
      prefix,
      colon < 0 ? name : name.slice(colon + 1),
      namespace,
      attributes,
      namespaces,
      parent ?? null,
      lt,
    );
    if (this.#open.length >= this.#maxDepth) {
      throw prescriptionError('ERR_XML_TOO_DEEP', { detail: { maxDepth: this.#maxDepth } });
    }
    parent?.children.push(element);
    this.#elements.push(element);
    this.#open.push(element);
    this.#scopes.push(scope);
    return element;
  }

  #endTag(lt: number, open: XmlElement): number {
    const s = this.#s;
    let pos = lt + 2 + open.name.length;
    // slice + === is markedly faster than startsWith(name, position) in V8.
    if (s.slice(lt + 2, pos) !== open.name) {
      throw malformed('end tag', lt);
    }
    while (isSpace(s.charCodeAt(pos))) {
      pos++;
    }
    if (s.charCodeAt(pos) !== GT) {
      throw malformed(pos >= s.length ? 'truncated' : 'end tag', pos);
    }
    this.#close(open, pos + 1);
    return pos + 1;
  }

  #close(element: XmlElement, end: number): void {
    element.end = end;
    this.#open.pop();
    this.#scopes.pop();
  }

  #text(from: number, to: number, parent: XmlElement): void {
    const s = this.#s;
    let i = from;
    while (i < to && isSpace(s.charCodeAt(i))) {
      i++;
    }
    let value = s.slice(from, to);
    if (i === to) {
      // Indentation between elements: nothing to check or replace but line endings.
      if (value.includes('\r')) {
        value = value.replace(/\r\n?/g, '\n');
      }
      parent.children.push(new XmlText(TEXT, value, true, true));
      return;
    }
    if (!TEXT_WORK.test(value)) {
      // No reference, no CR, no '>' (so no "]]>"): the text is as written and C14N needs no escape.
      parent.children.push(new XmlText(TEXT, value, false, true));
      return;
    }
    if (value.includes(']]>')) {
      throw malformed('"]]>" in text', from);
    }
    if (value.includes('\r')) {
      value = value.replace(/\r\n?/g, '\n');
    }
    if (value.includes('&')) {
      value = replaceReferences(value, from);
    }
    parent.children.push(new XmlText(TEXT, value, isAllSpace(value)));
  }

  #comment(lt: number, parent: XmlElement | undefined): number {
    const s = this.#s;
    const close = s.indexOf('-->', lt + 4);
    if (close < 0) {
      throw malformed('truncated', s.length);
    }
    const body = s.slice(lt + 4, close);
    if (body.includes('--') || body.endsWith('-')) {
      throw malformed('comment', lt);
    }
    if (this.#rejectComments) {
      throw prescriptionError('ERR_XML_COMMENT_FORBIDDEN', { detail: { offset: lt } });
    }
    parent?.children.push(
      new XmlComment(body.includes('\r') ? body.replace(/\r\n?/g, '\n') : body),
    );
    return close + 3;
  }

  #cdata(lt: number, parent: XmlElement): number {
    const s = this.#s;
    const close = s.indexOf(']]>', lt + 9);
    if (close < 0) {
      throw malformed('truncated', s.length);
    }
    let value = s.slice(lt + 9, close);
    if (value.includes('\r')) {
      value = value.replace(/\r\n?/g, '\n');
    }
    parent.children.push(new XmlText(CDATA, value, isAllSpace(value)));
    return close + 3;
  }
}

/** §3.3.3 for a CDATA attribute; `offset` is where the value starts (for the error detail). */
function attributeValue(raw: string, offset: number): string {
  if (raw.includes('<')) {
    throw malformed('"<" in attribute value', offset);
  }
  const spaced = raw.replace(/\r\n|[\t\n\r]/g, ' ');
  return spaced.includes('&') ? replaceReferences(spaced, offset) : spaced;
}

/** Replaces the predefined entity and character references (§4.1, §4.6); anything else is malformed. */
function replaceReferences(value: string, offset: number): string {
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

/** Namespaces in XML 1.0 §3 constraints on one declaration. */
function checkDeclaration(prefix: string, uri: string, offset: number): void {
  const reserved =
    prefix === 'xmlns' ||
    uri === XMLNS_NAMESPACE ||
    (prefix === 'xml') !== (uri === XML_NAMESPACE) ||
    (prefix !== '' && uri === '');
  if (reserved) {
    throw malformed(
      prefix !== '' && uri === '' ? 'prefix undeclared' : 'reserved namespace',
      offset,
    );
  }
}

function checkUnique(keys: readonly string[], offset: number): void {
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
