/**
 * Exclusive XML Canonicalization 1.0, without comments (http://www.w3.org/2001/10/xml-exc-c14n#), of the
 * subtree of one element (the document subset "the element and all its descendants") of the tree of
 * xml-tree.ts.
 *
 * Rules (Exc-C14N §3 on top of Canonical XML 1.0 §2.3):
 * - elements are written `<qname ns-decls attrs>children</qname>` (never self-closed);
 * - a namespace declaration is written only where its prefix is *visibly utilized* (by the element's own
 *   name or one of its attributes' names) and it is not already in effect from an output ancestor; the
 *   default namespace is utilized by an unprefixed element, and `xmlns=""` is written only to undo a
 *   non-empty default written by an output ancestor; the `xml` prefix is never declared;
 * - namespace declarations come first, sorted by prefix (default first); then attributes, sorted by
 *   namespace URI (none first) and then local name, in UCS code point order; original `xmlns*` declarations
 *   are not copied;
 * - text escapes `& < >` and CR; attribute values escape `& < "` and TAB, LF, CR;
 * - CDATA sections become escaped text; comments are dropped. The tree holds no processing instructions
 *   (parseXml rejects them) and no entity references (it expands none and rejects DTDs).
 * No InclusiveNamespaces PrefixList: EPS and our SignedInfo never use one.
 *
 * The `hashable` view (docs/protocol/eps-signing.md §1.2–1.3, §2.3: the subtree as EPS's xml-js → xmldom round trip sees
 * it; its roots are made by hashable.ts) changes what is written, not how:
 * - whitespace-only text is dropped (xml-js does not capture it; the NPfIT XSLT has `xsl:strip-space`);
 * - an unprefixed element is in the default namespace *declared in the subtree as written* (its own `xmlns`,
 *   else its parent's in the view), not the one the parser resolved from outside the subtree;
 * - attribute values get EPS `canonicaliseAttribute`: runs of TAB/FF and each (CR)LF → space.
 */
import {
  ATTRIBUTE_SPECIAL,
  COMMENT,
  ELEMENT,
  TEXT_SPECIAL,
  XmlAttribute,
  declaredDefaultNamespace,
  type XmlElement,
  type XmlNode,
} from './xml-tree.js';
import { NamespaceScope } from './xml-scope.js';

/** Options of {@link exclusiveC14n}. */
export interface C14nOptions {
  /** Write the EPS hashable view of the subtree (see the file header). */
  readonly hashable?: boolean;
}

const UTF8 = new TextEncoder();

/** The canonical output, and the namespace declarations written by the output ancestors of an element. */
class Writer {
  s = '';
  readonly hashable: boolean;
  readonly rendered = new NamespaceScope();

  constructor(hashable: boolean) {
    this.hashable = hashable;
  }
}

/**
 * Canonicalises `element` and its descendants with exclusive C14N (no comments) to a string.
 *
 * @example
 * ```ts
 * const doc = parseXml('<a:x xmlns:a="urn:a" xmlns:b="urn:b" z="1" a:y="&quot;"/>');
 * exclusiveC14n(doc.root); // '<a:x xmlns:a="urn:a" z="1" a:y="&quot;"></a:x>'
 * ```
 */
export function exclusiveC14n(element: XmlElement, options: C14nOptions = {}): string {
  const out = new Writer(options.hashable === true);
  writeElement(element, out, '');
  return out.s;
}

/**
 * {@link exclusiveC14n} as UTF-8 bytes (what is hashed and signed).
 *
 * @example
 * ```ts
 * const bytes = exclusiveC14nBytes(signedInfoElement);
 * createHash('sha256').update(bytes).digest('base64');
 * ```
 */
export function exclusiveC14nBytes(element: XmlElement, options: C14nOptions = {}): Uint8Array {
  return UTF8.encode(exclusiveC14n(element, options));
}

/** `viewDefault`: in the hashable view, the default namespace in scope at `element`'s parent. */
function writeElement(element: XmlElement, out: Writer, viewDefault: string): void {
  const hashable = out.hashable;
  const own = element.prefix;
  let namespace = element.namespace;
  let innerDefault = viewDefault;
  let attributes = element.attributes;
  if (hashable) {
    innerDefault =
      element.namespaces.length === 0
        ? viewDefault
        : (declaredDefaultNamespace(element) ?? viewDefault);
    if (own === '') {
      namespace = innerDefault;
    }
    if (element.rawEnd < 0) {
      attributes = normaliseAttributes(attributes); // a simple tag's values are plain already
    }
  }
  // Visibly utilized prefixes: the element's own, then each prefixed attribute's (never `xml`).
  let declarations: [string, string][] | undefined;
  if (own !== 'xml' && out.rendered.get(own) !== namespace) {
    declarations = [[own, namespace]];
  }
  let seen: Set<string> | undefined;
  for (let i = 0; i < attributes.length; i++) {
    const attr = attributes[i] as XmlAttribute;
    const p = attr.prefix;
    if (p === '' || p === 'xml' || p === own || out.rendered.get(p) === attr.namespace) {
      continue;
    }
    seen ??= new Set();
    if (!seen.has(p)) {
      seen.add(p);
      (declarations ??= []).push([p, attr.namespace]);
    }
  }
  if (declarations === undefined) {
    out.s +=
      element.rawEnd < 0
        ? startTag(element, attributes, undefined)
        : element.rawSorted
          ? // The start tag as written is canonical (XmlElement.rawEnd): one piece, not one per attribute.
            `${element.source.slice(element.start, element.rawEnd)}>`
          : simpleStartTag(element);
  } else {
    declarations.sort((a, b) => compareCodePoints(a[0], b[0]));
    out.s += startTag(element, attributes, declarations);
    out.rendered.push(declarations);
  }
  const children = element.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i] as XmlNode;
    if (child.type === ELEMENT) {
      writeElement(child, out, innerDefault);
    } else if (child.type !== COMMENT && !(hashable && child.whitespace)) {
      out.s += child.plain ? child.value : escapeText(child.value);
    }
  }
  out.s += `</${element.name}>`;
  if (declarations !== undefined) {
    out.rendered.pop(declarations);
  }
}

/** `<qname ns-decls attrs>` with the declarations already sorted. */
function startTag(
  element: XmlElement,
  attributes: readonly XmlAttribute[],
  declarations: readonly (readonly [string, string])[] | undefined,
): string {
  let s = `<${element.name}`;
  if (declarations !== undefined) {
    for (let i = 0; i < declarations.length; i++) {
      const [prefix, uri] = declarations[i] as readonly [string, string];
      s += `${prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`}${escapeAttribute(uri)}"`;
    }
  }
  const sorted = attributes.length > 1 ? sortAttributes(attributes) : attributes;
  for (let i = 0; i < sorted.length; i++) {
    const attr = sorted[i] as XmlAttribute;
    s += ` ${attr.name}="${attr.plain ? attr.value : escapeAttribute(attr.value)}"`;
  }
  return `${s}>`;
}

/**
 * The start tag of a simple element (XmlElement.rawEnd) whose attributes are not in canonical order: the
 * attributes as written, sorted. Their names are ASCII and unprefixed, so `<` is the C14N order.
 */
function simpleStartTag(element: XmlElement): string {
  const sorted = element.attributes.slice();
  for (let i = 1; i < sorted.length; i++) {
    const attr = sorted[i] as XmlAttribute;
    let j = i;
    for (; j > 0 && (sorted[j - 1] as XmlAttribute).name > attr.name; j--) {
      sorted[j] = sorted[j - 1] as XmlAttribute;
    }
    sorted[j] = attr;
  }
  const source = element.source;
  let s = `<${element.name}`;
  for (let i = 0; i < sorted.length; i++) {
    const attr = sorted[i] as XmlAttribute;
    s += source.slice(attr.start - 1, attr.end); // ` name="value"` exactly as written
  }
  return `${s}>`;
}

const TO_SPACE = /[\t\f\r\n]/;

/** EPS `canonicaliseAttribute` (serialisation/xml.ts): `/[\t\f]+/g` → ' ', then `/\r?\n/g` → ' '. */
function normaliseAttributes(attributes: readonly XmlAttribute[]): readonly XmlAttribute[] {
  let out: XmlAttribute[] | undefined;
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i] as XmlAttribute;
    if (!a.plain && TO_SPACE.test(a.value)) {
      out ??= attributes.slice(0, i);
      const value = a.value.replace(/[\t\f]+/g, ' ').replace(/\r?\n/g, ' ');
      out.push(new XmlAttribute(a.name, a.prefix, a.localName, a.namespace, value));
    } else if (out !== undefined) {
      out.push(a);
    }
  }
  return out ?? attributes;
}

function sortAttributes(attributes: readonly XmlAttribute[]): readonly XmlAttribute[] {
  const n = attributes.length;
  if (n > 16) {
    return [...attributes].sort(compareAttributes); // O(n log n) for hostile attribute counts
  }
  let i = 1;
  while (
    i < n &&
    compareAttributes(attributes[i - 1] as XmlAttribute, attributes[i] as XmlAttribute) <= 0
  ) {
    i++;
  }
  if (i === n) {
    return attributes; // already in canonical order: nothing is copied
  }
  // Insertion sort of the rest: elements carry a handful of attributes.
  const sorted = attributes.slice();
  for (; i < n; i++) {
    const attr = sorted[i] as XmlAttribute;
    let j = i;
    while (j > 0 && compareAttributes(sorted[j - 1] as XmlAttribute, attr) > 0) {
      sorted[j] = sorted[j - 1] as XmlAttribute;
      j--;
    }
    sorted[j] = attr;
  }
  return sorted;
}

function compareAttributes(a: XmlAttribute, b: XmlAttribute): number {
  return compareCodePoints(a.namespace, b.namespace) || compareCodePoints(a.localName, b.localName);
}

/**
 * Lexicographic order of UCS code points (C14N §2.2). UTF-16 code unit order agrees except where the first
 * differing units are a surrogate and a unit in U+E000–U+FFFF: the surrogate's code point is the larger.
 */
function compareCodePoints(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        const xs = x <= 0xdfff;
        const ys = y <= 0xdfff;
        if (xs !== ys) {
          return xs ? 1 : -1;
        }
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Canonical XML 1.0 §2.3 "Text Nodes". */
function escapeText(value: string): string {
  return TEXT_SPECIAL.test(value) ? value.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c) : value;
}

/** Canonical XML 1.0 §2.3 "Attribute Nodes" (also used for namespace URIs). */
function escapeAttribute(value: string): string {
  return ATTRIBUTE_SPECIAL.test(value)
    ? value.replace(/[&<"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c)
    : value;
}

const TEXT_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#xD;',
};
const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
