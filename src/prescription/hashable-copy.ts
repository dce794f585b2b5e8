/// <reference lib="dom" />
/**
 * Copies a subtree into another document the way EPS's xml-js → xmldom round trip sees it, ready for
 * exclusive C14N (eps-signature.md §1.2–1.3, §2.3).
 *
 * Rules:
 * - whitespace-only text nodes are dropped (EPS xml-js does not capture them; the NPfIT XSLT has
 *   `xsl:strip-space elements="*"`); all other text is kept verbatim, CDATA becomes text;
 * - comments and processing instructions are dropped;
 * - unprefixed elements take the default namespace *as the copy declares it*: the root gets
 *   `rootDefaultNamespace` (EPS `namespacedCopyOf` adds `xmlns="urn:hl7-org:v3"` unless the root has its
 *   own `xmlns`), and an `xmlns` attribute inside the copy changes it for that subtree. So a source written
 *   without any namespace (as the EPS test vectors are) is hashed in urn:hl7-org:v3, exactly as EPS does;
 * - prefixed elements and attributes keep the namespace they had in the source (as `xsl:copy-of` does);
 * - optionally, the root's attributes are dropped (EPS replaces a received SignedInfo's attributes);
 * - optionally, attribute values get EPS `canonicaliseAttribute`: runs of TAB/FF and each (CR)LF → space.
 */

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;

export interface HashableCopyOptions {
  readonly rootDefaultNamespace: string;
  readonly dropRootAttributes?: boolean;
  readonly normaliseAttributes?: boolean;
}

/**
 * Returns a detached copy of `source`, owned by `target`, following the rules above.
 *
 * @example
 * ```ts
 * const copy = hashableCopy(timeElement, fragmentsDoc, { rootDefaultNamespace: HL7_NAMESPACE });
 * fragment.appendChild(copy);
 * ```
 */
export function hashableCopy(
  source: Element,
  target: Document,
  options: HashableCopyOptions,
): Element {
  const ownDefault = options.dropRootAttributes ? null : declaredDefault(source);
  return copyElement(source, target, ownDefault ?? options.rootDefaultNamespace, options, true);
}

/** The element's own `xmlns` declaration, if any (xmldom's getAttribute returns '' when absent). */
function declaredDefault(element: Element): string | null {
  return element.hasAttribute('xmlns') ? element.getAttribute('xmlns') : null;
}

/** `defaultNamespace` is the default namespace in scope at `source` in the copy (its own xmlns included). */
function copyElement(
  source: Element,
  target: Document,
  defaultNamespace: string,
  options: HashableCopyOptions,
  isRoot: boolean,
): Element {
  const namespace = source.prefix ? (source.namespaceURI ?? '') : defaultNamespace;
  const copy = target.createElementNS(namespace === '' ? null : namespace, source.tagName);
  if (!(isRoot && options.dropRootAttributes)) {
    for (let i = 0; i < source.attributes.length; i++) {
      const attr = source.attributes.item(i);
      if (attr === null || attr.name === 'xmlns' || attr.prefix === 'xmlns') {
        continue;
      }
      const value = options.normaliseAttributes ? normaliseAttribute(attr.value) : attr.value;
      copy.setAttributeNS(attr.prefix ? (attr.namespaceURI ?? null) : null, attr.name, value);
    }
  }
  for (let child = source.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === ELEMENT) {
      const element = child as Element;
      const inner = declaredDefault(element) ?? defaultNamespace;
      copy.appendChild(copyElement(element, target, inner, options, false));
    } else if (child.nodeType === TEXT || child.nodeType === CDATA) {
      const data = (child as CharacterData).data;
      if (!/^[ \t\r\n]*$/.test(data)) {
        copy.appendChild(target.createTextNode(data));
      }
    }
  }
  return copy;
}

/** EPS `canonicaliseAttribute` (serialisation/xml.ts): `/[\t\f]+/g` → ' ', then `/\r?\n/g` → ' '. */
function normaliseAttribute(value: string): string {
  return value.replace(/[\t\f]+/g, ' ').replace(/\r?\n/g, ' ');
}
