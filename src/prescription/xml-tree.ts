/**
 * The light, read-only tree that parseXml (xml.ts) builds and that C14N, the fragments and the signature
 * checks walk. Plain data, no DOM: one class per node kind so that the walks stay monomorphic.
 *
 * Rules of the tree (what parseXml guarantees):
 * - `name` is the qualified name as written, `prefix` its prefix ('' for none), `namespace` the namespace URI
 *   it resolves to ('' for none); an unprefixed attribute is in no namespace (Namespaces in XML 1.0 §6.2);
 * - namespace declarations (`xmlns`, `xmlns:p`) are kept apart from the other attributes, both in document order;
 * - text is as the XML 1.0 processor reports it: line endings normalised (§2.11), references replaced,
 *   attribute values normalised (§3.3.3, every attribute is CDATA without a DTD);
 * - CDATA sections are their own nodes (`CDATA`), comments are kept (`COMMENT`); there are never processing
 *   instructions, entity references or DOCTYPE nodes;
 * - offsets (`start`, `end`, …) index the decoded source string `XmlDocument.source`, so a caller may edit the
 *   document by splicing without re-serialising it.
 */

export const ELEMENT = 1;
export const TEXT = 3;
export const CDATA = 4;
export const COMMENT = 8;

/** Characters Canonical XML 1.0 §2.3 escapes in an attribute value (and EPS normalisation touches). */
export const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/;
/** Characters Canonical XML 1.0 §2.3 escapes in text. */
export const TEXT_SPECIAL = /[&<>\r]/;

/** An attribute other than a namespace declaration. */
export class XmlAttribute {
  readonly name: string;
  readonly prefix: string;
  readonly localName: string;
  readonly namespace: string;
  readonly value: string;
  /** Offset of the name in the source (-1 for a built attribute). */
  readonly start: number;
  /** Offset just after the closing quote (-1 for a built attribute). */
  readonly end: number;
  /** The value holds no {@link ATTRIBUTE_SPECIAL} character: C14N writes it as it is. */
  readonly plain: boolean;

  constructor(
    name: string,
    prefix: string,
    localName: string,
    namespace: string,
    value: string,
    start = -1,
    end = -1,
    plain = !ATTRIBUTE_SPECIAL.test(value),
  ) {
    this.name = name;
    this.prefix = prefix;
    this.localName = localName;
    this.namespace = namespace;
    this.value = value;
    this.start = start;
    this.end = end;
    this.plain = plain;
  }
}

/** A namespace declaration: `xmlns="uri"` (prefix '') or `xmlns:prefix="uri"`. */
export class XmlNamespace {
  readonly prefix: string;
  readonly uri: string;
  readonly start: number;
  readonly end: number;

  constructor(prefix: string, uri: string, start: number, end: number) {
    this.prefix = prefix;
    this.uri = uri;
    this.start = start;
    this.end = end;
  }
}

/** Text (`TEXT`) or a CDATA section (`CDATA`); `whitespace` when it holds only SP, TAB, CR and LF. */
export class XmlText {
  readonly type: typeof TEXT | typeof CDATA;
  readonly value: string;
  readonly whitespace: boolean;
  /** The value holds no {@link TEXT_SPECIAL} character: C14N writes it as it is. */
  readonly plain: boolean;

  constructor(
    type: typeof TEXT | typeof CDATA,
    value: string,
    whitespace: boolean,
    plain = !TEXT_SPECIAL.test(value),
  ) {
    this.type = type;
    this.value = value;
    this.whitespace = whitespace;
    this.plain = plain;
  }
}

export class XmlComment {
  readonly type = COMMENT;
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }
}

export type XmlNode = XmlElement | XmlText | XmlComment;

const NO_CHILDREN: readonly XmlNode[] = Object.freeze([]);

/**
 * Appends a child while a tree is being built (the parser, views). The first child gets an array of its own
 * sized for one; most elements have none or one.
 *
 * @example
 * ```ts
 * appendChild(element, new XmlText(TEXT, 'x', false));
 * ```
 */
export function appendChild(element: XmlElement, child: XmlNode): void {
  const children = element.children;
  if (children.length === 0) {
    element.children = [child];
  } else {
    (children as XmlNode[])[children.length] = child;
  }
}

export class XmlElement {
  readonly type = ELEMENT;
  readonly name: string;
  readonly prefix: string;
  readonly localName: string;
  readonly namespace: string;
  readonly attributes: readonly XmlAttribute[];
  readonly namespaces: readonly XmlNamespace[];
  /** Offset of the `<` of the start tag; -1 for a built element. */
  readonly start: number;
  /**
   * Child nodes in document order. Set while parsing or building (see {@link appendChild}); read-only to
   * everyone else. Elements without children share one empty, frozen array.
   */
  children: readonly XmlNode[];
  /** Offset just after the end tag (or the empty-element tag); -1 for a built element. */
  end = -1;
  /** The decoded source the offsets index ('' for a built element). */
  source = '';
  /**
   * When the start tag as written is simple (no namespace declaration; each attribute unprefixed, after one
   * space, `name="value"` with a value C14N writes as it is), the offset of its closing `>` or `/>`; else
   * -1. C14N then copies attributes from the source: the whole tag when `rawSorted`.
   */
  rawEnd = -1;
  /** The simple tag's attributes are in canonical order already (see `rawEnd`). */
  rawSorted = false;

  constructor(
    name: string,
    prefix: string,
    localName: string,
    namespace: string,
    attributes: readonly XmlAttribute[],
    namespaces: readonly XmlNamespace[],
    start = -1,
    children: readonly XmlNode[] = NO_CHILDREN,
  ) {
    this.name = name;
    this.prefix = prefix;
    this.localName = localName;
    this.namespace = namespace;
    this.attributes = attributes;
    this.namespaces = namespaces;
    this.start = start;
    this.children = children;
  }
}

/** A parsed document: its one root element, every element in document order, and the decoded source. */
export interface XmlDocument {
  readonly root: XmlElement;
  readonly elements: readonly XmlElement[];
  readonly source: string;
}

/**
 * A built element (not from a source document), e.g. for the FragmentsToBeHashed wrapper.
 *
 * @example
 * ```ts
 * const fragment = buildElement('Fragment', '', [], [timeCopy, idCopy]);
 * ```
 */
export function buildElement(
  name: string,
  namespace: string,
  attributes: readonly XmlAttribute[],
  children: readonly XmlNode[],
): XmlElement {
  const colon = name.indexOf(':');
  const element = new XmlElement(
    name,
    colon < 0 ? '' : name.slice(0, colon),
    colon < 0 ? name : name.slice(colon + 1),
    namespace,
    attributes,
    [],
  );
  element.children = [...children];
  return element;
}

/**
 * The child elements of `parent` with this namespace and local name, in document order.
 *
 * @example
 * ```ts
 * const ids = childElements(rx, HL7_NAMESPACE, 'id');
 * ```
 */
export function childElements(
  parent: XmlElement,
  namespace: string,
  localName: string,
): XmlElement[] {
  const found: XmlElement[] = [];
  for (const child of parent.children) {
    if (child.type === ELEMENT && child.localName === localName && child.namespace === namespace) {
      found.push(child);
    }
  }
  return found;
}

/**
 * The value of the attribute whose qualified name is `name` (as DOM `getAttribute`), or undefined.
 *
 * @example
 * ```ts
 * attributeValue(timeElement, 'value'); // '20241209115004'
 * ```
 */
export function attributeValue(element: XmlElement, name: string): string | undefined {
  for (const attribute of element.attributes) {
    if (attribute.name === name) {
      return attribute.value;
    }
  }
  return undefined;
}

/**
 * The namespace the element itself declares as default (`xmlns="…"`), or undefined.
 *
 * @example
 * ```ts
 * declaredDefaultNamespace(signature); // 'http://www.w3.org/2000/09/xmldsig#'
 * ```
 */
export function declaredDefaultNamespace(element: XmlElement): string | undefined {
  for (const declaration of element.namespaces) {
    if (declaration.prefix === '') {
      return declaration.uri;
    }
  }
  return undefined;
}
