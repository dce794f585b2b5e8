/**
 * The roots of EPS's hashable view of a subtree: what EPS's xml-js → xmldom round trip puts at the top of a
 * copy (docs/protocol/eps-signing.md §1.2–1.3, §2.3). The view itself (whitespace, namespaces below the root, attribute
 * values) is written by c14n.ts `exclusiveC14n(root, { hashable: true })`; nothing is copied.
 *
 * Rules:
 * - a root takes the default namespace it declares itself, else `defaultNamespace` (EPS `namespacedCopyOf`
 *   adds `xmlns="urn:hl7-org:v3"` unless the root has its own `xmlns`), and its unprefixed descendants
 *   inherit that unless they declare their own; prefixed elements and attributes keep the namespace they
 *   had in the source (as `xsl:copy-of` does). So a source written without any namespace (as the EPS test
 *   vectors are) is hashed in urn:hl7-org:v3, exactly as EPS does;
 * - optionally the root ignores its own declaration and its attributes are replaced (EPS sets a received
 *   SignedInfo's attributes to `{ xmlns: Signature/@xmlns }`; the `$prepare` flow sets author/time/@value).
 */
import {
  XmlAttribute,
  XmlElement,
  XmlNamespace,
  declaredDefaultNamespace,
  type XmlNode,
} from './xml-tree.js';

/** Options of {@link hashableRoot}. */
export interface HashableRootOptions {
  /** The root's attributes instead of its own. */
  readonly attributes?: readonly XmlAttribute[];
  /** Use `defaultNamespace` even when the root declares its own (EPS SignedInfo). */
  readonly replaceDefault?: boolean;
  /** The root's children instead of its own (edited copies; the nodes themselves are shared). */
  readonly children?: readonly XmlNode[];
}

/**
 * `source` as the root of a hashable view: same name and children, the default namespace EPS gives it.
 *
 * @example
 * ```ts
 * const root = hashableRoot(agentPerson, HL7_NAMESPACE);
 * exclusiveC14n(root, { hashable: true }); // '<AgentPerson xmlns="urn:hl7-org:v3" …>…</AgentPerson>'
 * ```
 */
export function hashableRoot(
  source: XmlElement,
  defaultNamespace: string,
  options: HashableRootOptions = {},
): XmlElement {
  const own = options.replaceDefault ? undefined : declaredDefaultNamespace(source);
  const namespace = own ?? defaultNamespace;
  return new XmlElement(
    source.name,
    source.prefix,
    source.localName,
    source.prefix === '' ? namespace : source.namespace,
    options.attributes ?? source.attributes,
    [new XmlNamespace('', namespace, -1, -1)],
    -1,
    options.children ?? source.children,
  );
}

/**
 * The namespace of `element` in the hashable view, where `parentDefault` is the default namespace in scope
 * at its parent (in the view).
 *
 * @example
 * ```ts
 * hashableNamespace(child, HL7_NAMESPACE); // 'urn:hl7-org:v3' for an unprefixed child without xmlns
 * ```
 */
export function hashableNamespace(element: XmlElement, parentDefault: string): string {
  return element.prefix === ''
    ? (declaredDefaultNamespace(element) ?? parentDefault)
    : element.namespace;
}
