/**
 * Copies a subtree the way EPS's xml-js → xmldom round trip sees it, ready for exclusive C14N
 * (eps-signature.md §1.2–1.3, §2.3). The copy is a new detached tree; the source is not changed.
 *
 * Rules:
 * - whitespace-only text nodes are dropped (EPS xml-js does not capture them; the NPfIT XSLT has
 *   `xsl:strip-space elements="*"`); all other text is kept verbatim, CDATA becomes text;
 * - comments are dropped (the tree holds no processing instructions);
 * - unprefixed elements take the default namespace *as the copy declares it*: the root gets
 *   `rootDefaultNamespace` (EPS `namespacedCopyOf` adds `xmlns="urn:hl7-org:v3"` unless the root has its
 *   own `xmlns`), and an `xmlns` attribute inside the copy changes it for that subtree. So a source written
 *   without any namespace (as the EPS test vectors are) is hashed in urn:hl7-org:v3, exactly as EPS does;
 * - prefixed elements and attributes keep the namespace they had in the source (as `xsl:copy-of` does);
 * - optionally, the root's attributes are dropped (EPS replaces a received SignedInfo's attributes);
 * - optionally, attribute values get EPS `canonicaliseAttribute`: runs of TAB/FF and each (CR)LF → space.
 */
import {
  COMMENT,
  ELEMENT,
  TEXT,
  XmlAttribute,
  XmlElement,
  XmlText,
  declaredDefaultNamespace,
  type XmlNode,
} from './xml-tree.js';

export interface HashableCopyOptions {
  readonly rootDefaultNamespace: string;
  readonly dropRootAttributes?: boolean;
  readonly normaliseAttributes?: boolean;
}

const NONE: readonly XmlAttribute[] = Object.freeze([]);

/**
 * Returns a detached copy of `source` following the rules above.
 *
 * @example
 * ```ts
 * const copy = hashableCopy(timeElement, { rootDefaultNamespace: HL7_NAMESPACE });
 * exclusiveC14n(copy); // '<time xmlns="urn:hl7-org:v3" value="…"></time>'
 * ```
 */
export function hashableCopy(source: XmlElement, options: HashableCopyOptions): XmlElement {
  const ownDefault = options.dropRootAttributes ? undefined : declaredDefaultNamespace(source);
  return copyElement(source, ownDefault ?? options.rootDefaultNamespace, options, true);
}

/** `defaultNamespace` is the default namespace in scope at `source` in the copy (its own xmlns included). */
function copyElement(
  source: XmlElement,
  defaultNamespace: string,
  options: HashableCopyOptions,
  isRoot: boolean,
): XmlElement {
  const namespace = source.prefix === '' ? defaultNamespace : source.namespace;
  const attributes =
    isRoot && options.dropRootAttributes
      ? NONE
      : options.normaliseAttributes
        ? normaliseAttributes(source.attributes)
        : source.attributes;
  const copy = new XmlElement(
    source.name,
    source.prefix,
    source.localName,
    namespace,
    attributes,
    [],
  );
  const children: XmlNode[] = copy.children;
  for (const child of source.children) {
    if (child.type === ELEMENT) {
      const inner = declaredDefaultNamespace(child) ?? defaultNamespace;
      children.push(copyElement(child, inner, options, false));
    } else if (child.type !== COMMENT && !child.whitespace) {
      // Text nodes are immutable: a CDATA node is shared as text.
      children.push(
        child.type === TEXT ? child : new XmlText(TEXT, child.value, false, child.plain),
      );
    }
  }
  return copy;
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
