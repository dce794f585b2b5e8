/**
 * A strict, non-validating XML 1.0 (fifth edition) and Namespaces in XML 1.0 parser over an already decoded
 * string, building the tree of xml-tree.ts. It knows no DTD at all: xml.ts has rejected DOCTYPE and ENTITY
 * markup before it runs. Any violation throws a `ServiceError` (ERR_XML_MALFORMED unless said otherwise)
 * whose detail holds a fixed reason and an offset, never input. The lexical rules are in xml-chars.ts.
 *
 * Rules:
 * - every character is a §2.2 Char: each piece of the input (names, S, attribute values, text, CDATA,
 *   comments, the declaration) is checked where it is read;
 * - an XML declaration is allowed only at offset 0, in the §2.8 grammar (version 1.x, optional encoding and
 *   standalone); every other `<?…?>` is a processing instruction → ERR_XML_PI_FORBIDDEN;
 * - exactly one root element; around it only S and comments; `<!` other than a comment or (inside the root)
 *   a CDATA section is malformed;
 * - names are QNames; end tags match their start tags; S is required between attributes; attribute values
 *   are quoted and hold no `<`; no attribute name appears twice in a tag;
 * - text holds no `]]>`; comments hold no `--` and do not end in `-`; CDATA is taken verbatim;
 * - §2.11 line endings are normalised in text, CDATA and comments; attribute values per §3.3.3;
 * - namespaces: every prefix used by an element or attribute is declared (`xml` is predeclared), the
 *   declarations obey xml-chars.ts `checkDeclaration`, and no two attributes share an expanded name (§6.3);
 * - nesting deeper than `maxDepth` → ERR_XML_TOO_DEEP as soon as it is seen; the parser never recurses;
 * - comments → ERR_XML_COMMENT_FORBIDDEN when `rejectComments`;
 * - every search moves forward through the input, so the work is linear in its length.
 */
import { prescriptionError } from './errors.js';
import { NamespaceScope } from './xml-scope.js';
import { scanStartTagRest, type RawAttribute } from './xml-start-tag.js';
import {
  FORBIDDEN,
  FORBIDDEN_CLASS,
  XML_NAMESPACE,
  checkDeclaration,
  checkUnique,
  checkUniqueNames,
  isAllSpace,
  isSpace,
  malformed,
  normaliseNewlines,
  replaceReferences,
  scanQName,
} from './xml-chars.js';
import {
  CDATA,
  TEXT,
  XmlAttribute,
  XmlComment,
  XmlElement,
  XmlNamespace,
  XmlText,
  appendChild,
  type XmlDocument,
} from './xml-tree.js';

const LF = 0x0a;
const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const QUOT = 0x22;

// §2.8 XMLDecl, matched at offset 0 only.
const XML_DECLARATION =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/y;
/**
 * The common start tag, recognised in one step: an ASCII QName, then unprefixed ASCII attributes each after
 * one space, `="…"` holding no reference, `<`, TAB, LF, CR or other character outside §2.2, then `>` or
 * `/>`. Everything else that is well-formed (other spacing, single quotes, references, prefixed attributes,
 * namespace declarations, non-ASCII names) takes the general path.
 */
const SIMPLE_START_TAG = new RegExp(
  `<[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?(?: [A-Za-z_][A-Za-z0-9._-]*="[^"<&\\t\\n\\r${FORBIDDEN_CLASS}]*")*/?>`,
  'y',
);
/** Text that needs more than slicing: references, CR, `>` (for `]]>`) or a forbidden character. */
const TEXT_WORK = new RegExp(`[&>\\r${FORBIDDEN_CLASS}]`);

const NO_ATTRIBUTES: readonly XmlAttribute[] = Object.freeze([]);
const NO_NAMESPACES: readonly XmlNamespace[] = Object.freeze([]);

/** Indentation ("\n" and spaces) is the commonest text: one shared, immutable node per width. */
const INDENTS: XmlText[] = [];
const MAX_SHARED_INDENT = 256;

/** White space from `from` to `to`; `indent` when it is LF then spaces only (a shared node). */
function whitespace(s: string, from: number, to: number, indent: boolean): XmlText {
  const width = to - from - 1;
  return indent && width < MAX_SHARED_INDENT
    ? (INDENTS[width] ??= new XmlText(TEXT, `\n${' '.repeat(width)}`, true, true))
    : new XmlText(TEXT, normaliseNewlines(s.slice(from, to)), true, true);
}

/** `list.push(item)` as a keyed store (V8 calls the push builtin for these call sites). */
function append<T>(list: T[], item: T): void {
  list[list.length] = item;
}

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

class Parser {
  readonly #s: string;
  readonly #maxDepth: number;
  readonly #rejectComments: boolean;
  readonly #elements: XmlElement[] = [];
  /** The open elements are `#open[0 .. #depth - 1]` (slots above are stale). */
  readonly #open: XmlElement[] = [];
  #depth = 0;
  /** Namespace bindings in scope: an element's declarations (its `namespaces`) from open to close. */
  readonly #scope = new NamespaceScope([['xml', XML_NAMESPACE]]);
  /** The first space after the last start tag looked at (see #startTag); s.length when there is none. */
  #nextSpace = -1;

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
        pos = this.#content(this.#startTag(pos, undefined));
        root = this.#elements[0];
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
    while (this.#depth > 0) {
      const parent = open[this.#depth - 1] as XmlElement;
      // Indentation (LF and spaces, the commonest text) is read here: the '<' after it needs no search.
      let i = pos;
      let indent = s.charCodeAt(i) === LF;
      let c = indent ? s.charCodeAt(++i) : s.charCodeAt(i);
      for (;;) {
        if (c !== SP) {
          if (!isSpace(c)) {
            break;
          }
          indent = false;
        }
        c = s.charCodeAt(++i);
      }
      let lt = i;
      if (c !== LT) {
        lt = s.indexOf('<', i);
        if (lt < 0) {
          throw malformed('truncated', s.length);
        }
        this.#text(pos, lt, parent);
      } else if (i > pos) {
        appendChild(parent, whitespace(s, pos, i, indent));
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

  /** A start tag at `lt`; returns the offset after it. */
  #startTag(lt: number, parent: XmlElement | undefined): number {
    const s = this.#s;
    SIMPLE_START_TAG.lastIndex = lt;
    if (!SIMPLE_START_TAG.test(s)) {
      return this.#generalStartTag(lt, parent);
    }
    const end = SIMPLE_START_TAG.lastIndex;
    const empty = s.charCodeAt(end - 2) === SLASH;
    const close = empty ? end - 2 : end - 1;
    // The name ends at the first space (before the attributes) or at the close. The next space in the
    // document is remembered, so that tags without one (`<a/><b/>…`) do not rescan the rest each time.
    if (this.#nextSpace <= lt) {
      this.#nextSpace = s.indexOf(' ', lt + 1);
      if (this.#nextSpace < 0) {
        this.#nextSpace = s.length;
      }
    }
    const nameEnd = this.#nextSpace < close ? this.#nextSpace : close;
    let attributes = NO_ATTRIBUTES;
    // Attribute names are ASCII here, so `<` is code point order: strictly ascending names are both
    // canonical (C14N can copy the tag) and distinct (no duplicate check needed).
    let ascending = true;
    if (nameEnd < close) {
      let list: XmlAttribute[] | undefined;
      let previous = '';
      for (let p = nameEnd; p < close;) {
        // The regex has checked the shape ` name="value"`: short scans find '=' and the closing quote.
        let eq = p + 2;
        while (s.charCodeAt(eq) !== EQUALS) {
          eq++;
        }
        const name = s.slice(p + 1, eq);
        if (name === 'xmlns') {
          return this.#generalStartTag(lt, parent);
        }
        if (name <= previous) {
          ascending = false;
        }
        previous = name;
        let quote = eq + 2;
        while (s.charCodeAt(quote) !== QUOT) {
          quote++;
        }
        const attr = new XmlAttribute(
          name,
          '',
          name,
          '',
          s.slice(eq + 2, quote),
          p + 1,
          quote + 1,
          true,
        );
        // An array literal sized for one (most tags have one or two attributes).
        if (list === undefined) {
          list = [attr];
        } else {
          append(list, attr);
        }
        p = quote + 1;
      }
      if (list !== undefined) {
        if (!ascending) {
          checkUniqueNames(list, lt);
        }
        attributes = list;
      }
    }
    const name = s.slice(lt + 1, nameEnd);
    const colon = name.indexOf(':');
    const element =
      colon < 0
        ? new XmlElement(name, '', name, this.#scope.default, attributes, NO_NAMESPACES, lt)
        : this.#prefixed(name, colon, attributes, NO_NAMESPACES, lt);
    element.source = s;
    element.rawEnd = close;
    element.rawSorted = ascending;
    this.#link(element, parent);
    if (empty) {
      this.#close(element, end);
    }
    return end;
  }

  /** Any start tag (XML 1.0 §3.1, Namespaces in XML 1.0 §3). */
  #generalStartTag(lt: number, parent: XmlElement | undefined): number {
    const s = this.#s;
    const nameEnd = scanQName(s, lt + 1);
    const { attributes: raw, end, empty } = scanStartTagRest(s, nameEnd);
    const isDeclaration = (a: RawAttribute): boolean =>
      a.name === 'xmlns' || a.name.startsWith('xmlns:');
    const namespaces: readonly XmlNamespace[] = raw.filter(isDeclaration).map((a) => {
      const prefix = a.name === 'xmlns' ? '' : a.name.slice(6);
      checkDeclaration(prefix, a.value, a.start);
      return new XmlNamespace(prefix, a.value, a.start, a.end);
    });
    // The declarations are in scope for the element's own name and attributes (Namespaces §6.1).
    this.#scope.push(namespaces.map((d) => [d.prefix, d.uri] as const));
    const attributes: XmlAttribute[] = [];
    const expanded: string[] = [];
    for (const a of raw) {
      if (isDeclaration(a)) {
        continue;
      }
      const colon = a.name.indexOf(':');
      if (colon < 0) {
        attributes.push(new XmlAttribute(a.name, '', a.name, '', a.value, a.start, a.end, a.plain));
        continue;
      }
      const prefix = a.name.slice(0, colon);
      const namespace = this.#scope.get(prefix);
      if (namespace === undefined) {
        throw malformed('unbound prefix', a.start);
      }
      const localName = a.name.slice(colon + 1);
      attributes.push(
        new XmlAttribute(a.name, prefix, localName, namespace, a.value, a.start, a.end, a.plain),
      );
      expanded.push(`${namespace} ${localName}`);
    }
    // Namespaces in XML 1.0 §6.3: no two attributes with the same expanded name.
    checkUnique(expanded, lt);
    const name = s.slice(lt + 1, nameEnd);
    const colon = name.indexOf(':');
    const list = attributes.length > 0 ? attributes : NO_ATTRIBUTES;
    const element =
      colon < 0
        ? new XmlElement(name, '', name, this.#scope.default, list, namespaces, lt)
        : this.#prefixed(name, colon, list, namespaces, lt);
    element.source = s;
    this.#link(element, parent);
    if (empty) {
      this.#close(element, end);
    }
    return end;
  }

  #prefixed(
    name: string,
    colon: number,
    attributes: readonly XmlAttribute[],
    namespaces: readonly XmlNamespace[],
    lt: number,
  ): XmlElement {
    const prefix = name.slice(0, colon);
    const namespace = this.#scope.get(prefix);
    if (namespace === undefined || prefix === 'xmlns') {
      throw malformed('unbound prefix', lt);
    }
    return new XmlElement(
      name,
      prefix,
      name.slice(colon + 1),
      namespace,
      attributes,
      namespaces,
      lt,
    );
  }

  /** Links the element in and opens it (its declarations are already in scope when it has any). */
  #link(element: XmlElement, parent: XmlElement | undefined): void {
    if (this.#depth >= this.#maxDepth) {
      throw prescriptionError('ERR_XML_TOO_DEEP', { detail: { maxDepth: this.#maxDepth } });
    }
    if (parent !== undefined) {
      appendChild(parent, element);
    }
    append(this.#elements, element);
    this.#open[this.#depth++] = element;
  }

  #close(element: XmlElement, end: number): void {
    element.end = end;
    this.#depth--;
    if (element.namespaces.length > 0) {
      this.#scope.pop(element.namespaces.map((d) => [d.prefix, d.uri] as const));
    }
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

  /** Text that is not only white space (#content has dealt with that), from `from` to the '<' at `to`. */
  #text(from: number, to: number, parent: XmlElement): void {
    let value = this.#s.slice(from, to);
    if (!TEXT_WORK.test(value)) {
      // No reference, CR or '>' (so no "]]>"): the text is as written and C14N escapes nothing.
      appendChild(parent, new XmlText(TEXT, value, false, true));
      return;
    }
    if (FORBIDDEN.test(value)) {
      throw malformed('character', from);
    }
    if (value.includes(']]>')) {
      throw malformed('"]]>" in text', from);
    }
    value = normaliseNewlines(value);
    if (value.includes('&')) {
      value = replaceReferences(value, from);
    }
    appendChild(parent, new XmlText(TEXT, value, isAllSpace(value)));
  }

  #comment(lt: number, parent: XmlElement | undefined): number {
    const s = this.#s;
    const close = s.indexOf('-->', lt + 4);
    if (close < 0) {
      throw malformed('truncated', s.length);
    }
    const body = s.slice(lt + 4, close);
    if (body.includes('--') || body.endsWith('-') || FORBIDDEN.test(body)) {
      throw malformed('comment', lt);
    }
    if (this.#rejectComments) {
      throw prescriptionError('ERR_XML_COMMENT_FORBIDDEN', { detail: { offset: lt } });
    }
    if (parent !== undefined) {
      appendChild(parent, new XmlComment(normaliseNewlines(body)));
    }
    return close + 3;
  }

  #cdata(lt: number, parent: XmlElement): number {
    const s = this.#s;
    const close = s.indexOf(']]>', lt + 9);
    if (close < 0) {
      throw malformed('truncated', s.length);
    }
    const body = s.slice(lt + 9, close);
    if (FORBIDDEN.test(body)) {
      throw malformed('character', lt);
    }
    const value = normaliseNewlines(body);
    appendChild(parent, new XmlText(CDATA, value, isAllSpace(value)));
    return close + 3;
  }
}
