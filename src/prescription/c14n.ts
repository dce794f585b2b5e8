/// <reference lib="dom" />
/**
 * Exclusive XML Canonicalization 1.0, without comments (http://www.w3.org/2001/10/xml-exc-c14n#), of the
 * subtree of one element (the document subset "the element and all its descendants").
 *
 * Rules (Exc-C14N §3 on top of Canonical XML 1.0 §2.3):
 * - elements are written `<qname ns-decls attrs>children</qname>` (never self-closed);
 * - a namespace declaration is written only where its prefix is *visibly utilized* (by the element's own
 *   name or one of its attributes' names) and it is not already in effect from an output ancestor; the
 *   default namespace is utilized by an unprefixed element, and `xmlns=""` is written only to undo a
 *   non-empty default written by an output ancestor; the `xml` prefix is never declared;
 * - namespace declarations come first, sorted by prefix (default first); then attributes, sorted by
 *   namespace URI (none first) and then local name; original `xmlns*` attributes are not copied;
 * - text escapes `& < >` and CR; attribute values escape `& < "` and TAB, LF, CR;
 * - CDATA sections become escaped text; comments are dropped; processing instructions are kept as
 *   `<?target data?>`.
 * No InclusiveNamespaces PrefixList: EPS and our SignedInfo never use one.
 */

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const PI = 7;
const COMMENT = 8;

/** prefix ('' = default namespace) -> namespace URI written by an output ancestor. */
type Rendered = ReadonlyMap<string, string>;

/**
 * Canonicalises `element` and its descendants with exclusive C14N (no comments) to a string.
 *
 * @example
 * ```ts
 * const doc = parseXml('<a:x xmlns:a="urn:a" xmlns:b="urn:b" z="1" a:y="&quot;"/>');
 * exclusiveC14n(doc.documentElement); // '<a:x xmlns:a="urn:a" z="1" a:y="&quot;"></a:x>'
 * ```
 */
export function exclusiveC14n(element: Element): string {
  const out: string[] = [];
  writeElement(element, new Map([['', '']]), out);
  return out.join('');
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
export function exclusiveC14nBytes(element: Element): Uint8Array {
  return new Uint8Array(Buffer.from(exclusiveC14n(element), 'utf8'));
}

function writeElement(element: Element, rendered: Rendered, out: string[]): void {
  const attrs: Attr[] = [];
  const wanted = new Map<string, string>();
  wanted.set(element.prefix ?? '', element.namespaceURI ?? '');
  for (let i = 0; i < element.attributes.length; i++) {
    const attr = element.attributes.item(i);
    if (attr === null || isNamespaceDeclaration(attr)) {
      continue;
    }
    attrs.push(attr);
    // An unprefixed attribute is in no namespace and does not utilize the default namespace.
    if (attr.prefix && attr.prefix !== 'xml') {
      wanted.set(attr.prefix, attr.namespaceURI ?? '');
    }
  }

  const declarations: [string, string][] = [];
  for (const [prefix, uri] of wanted) {
    const inEffect = rendered.get(prefix) ?? (prefix === '' ? '' : undefined);
    if (inEffect !== uri) {
      declarations.push([prefix, uri]);
    }
  }
  declarations.sort((a, b) => compare(a[0], b[0]));
  attrs.sort(
    (a, b) =>
      compare(a.namespaceURI ?? '', b.namespaceURI ?? '') ||
      compare(localNameOf(a), localNameOf(b)),
  );

  const name = element.tagName;
  out.push('<', name);
  for (const [prefix, uri] of declarations) {
    out.push(prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`, escapeAttribute(uri), '"');
  }
  for (const attr of attrs) {
    out.push(' ', attr.name, '="', escapeAttribute(attr.value), '"');
  }
  out.push('>');

  let childRendered: Rendered = rendered;
  if (declarations.length > 0) {
    const next = new Map(rendered);
    for (const [prefix, uri] of declarations) {
      next.set(prefix, uri);
    }
    childRendered = next;
  }
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    switch (child.nodeType) {
      case ELEMENT:
        writeElement(child as Element, childRendered, out);
        break;
      case TEXT:
      case CDATA:
        out.push(escapeText((child as CharacterData).data));
        break;
      case PI: {
        const pi = child as ProcessingInstruction;
        out.push('<?', pi.target, pi.data === '' ? '' : ` ${pi.data}`, '?>');
        break;
      }
      case COMMENT:
        break;
      default:
        // Entity references cannot occur: parseXml rejects DTDs, and we never build them.
        throw new TypeError('exclusiveC14n: unsupported node type');
    }
  }
  out.push('</', name, '>');
}

function isNamespaceDeclaration(attr: Attr): boolean {
  return attr.name === 'xmlns' || attr.prefix === 'xmlns';
}

function localNameOf(attr: Attr): string {
  return attr.localName ?? attr.name;
}

/** Lexicographic order of UCS code points (C14N §2.2); code units differ only around surrogates. */
function compare(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  if (SURROGATE.test(a) || SURROGATE.test(b)) {
    const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
    const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = (x[i] ?? 0) - (y[i] ?? 0);
      if (d !== 0) {
        return d;
      }
    }
    return x.length - y.length;
  }
  return a < b ? -1 : 1;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Canonical XML 1.0 §2.3 "Text Nodes". */
function escapeText(value: string): string {
  return value.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

/** Canonical XML 1.0 §2.3 "Attribute Nodes" (also used for namespace URIs). */
function escapeAttribute(value: string): string {
  return value.replace(/[&<"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
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
