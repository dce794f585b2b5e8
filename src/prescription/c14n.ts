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
 */
import {
  ATTRIBUTE_SPECIAL,
  COMMENT,
  ELEMENT,
  TEXT_SPECIAL,
  type XmlAttribute,
  type XmlElement,
} from './xml-tree.js';

const UTF8 = new TextEncoder();

/**
 * The canonical output and the namespace declarations written by the output ancestors of the element being
 * written: prefix ('' = default) → URIs, innermost last, pushed and popped around each element so that a
 * lookup costs O(1) however many declarations are in effect.
 */
class Writer {
  s = '';
  readonly #rendered = new Map<string, string[]>([['', ['']]]);

  inEffect(prefix: string): string | undefined {
    return this.#rendered.get(prefix)?.at(-1);
  }

  push(declarations: readonly (readonly [string, string])[]): void {
    for (const [prefix, uri] of declarations) {
      const stack = this.#rendered.get(prefix);
      if (stack === undefined) {
        this.#rendered.set(prefix, [uri]);
      } else {
        stack.push(uri);
      }
    }
  }

  pop(declarations: readonly (readonly [string, string])[]): void {
    for (const [prefix] of declarations) {
      this.#rendered.get(prefix)?.pop();
    }
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
export function exclusiveC14n(element: XmlElement): string {
  const out = new Writer();
  writeElement(element, out);
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
export function exclusiveC14nBytes(element: XmlElement): Uint8Array {
  return UTF8.encode(exclusiveC14n(element));
}

function writeElement(element: XmlElement, out: Writer): void {
  // Visibly utilized prefixes: the element's own, then each prefixed attribute's (never `xml`).
  let declarations: [string, string][] | undefined;
  const own = element.prefix;
  if (own !== 'xml' && out.inEffect(own) !== element.namespace) {
    declarations = [[own, element.namespace]];
  }
  const attributes = element.attributes;
  let seen: Set<string> | undefined;
  for (const attr of attributes) {
    const p = attr.prefix;
    if (p === '' || p === 'xml' || p === own || out.inEffect(p) === attr.namespace) {
      continue;
    }
    seen ??= new Set();
    if (!seen.has(p)) {
      seen.add(p);
      (declarations ??= []).push([p, attr.namespace]);
    }
  }
  let s = `<${element.name}`;
  if (declarations !== undefined) {
    if (declarations.length > 1) {
      declarations.sort((a, b) => compareCodePoints(a[0], b[0]));
    }
    for (const [prefix, uri] of declarations) {
      s += `${prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`}${escapeAttribute(uri)}"`;
    }
    out.push(declarations);
  }
  const sorted = attributes.length > 1 ? sortAttributes(attributes) : attributes;
  for (const attr of sorted) {
    s += ` ${attr.name}="${attr.plain ? attr.value : escapeAttribute(attr.value)}"`;
  }
  out.s += `${s}>`;
  for (const child of element.children) {
    if (child.type === ELEMENT) {
      writeElement(child, out);
    } else if (child.type !== COMMENT) {
      out.s += child.plain ? child.value : escapeText(child.value);
    }
  }
  out.s += `</${element.name}>`;
  if (declarations !== undefined) {
    out.pop(declarations);
  }
}

function sortAttributes(attributes: readonly XmlAttribute[]): readonly XmlAttribute[] {
  if (attributes.length > 16) {
    return [...attributes].sort(compareAttributes); // O(n log n) for hostile attribute counts
  }
  let sorted: XmlAttribute[] | undefined;
  for (let i = 1; i < attributes.length; i++) {
    const attr = attributes[i] as XmlAttribute;
    if (sorted === undefined) {
      if (compareAttributes(attributes[i - 1] as XmlAttribute, attr) <= 0) {
        continue; // still in canonical order (the common case: nothing is copied)
      }
      sorted = attributes.slice(0, i);
    }
    // Insertion sort: elements carry a handful of attributes.
    let j = sorted.length;
    while (j > 0 && compareAttributes(sorted[j - 1] as XmlAttribute, attr) > 0) {
      j--;
    }
    sorted.splice(j, 0, attr);
  }
  return sorted ?? attributes;
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
