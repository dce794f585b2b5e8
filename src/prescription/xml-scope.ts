/**
 * Namespace bindings in scope while a tree is walked in document order, for the parser (declarations of
 * the source) and for C14N (declarations written by output ancestors).
 *
 * Rules:
 * - a binding maps a prefix ('' = the default namespace) to a URI; an element's bindings are pushed when it
 *   opens and popped, in the same order, when it closes;
 * - every lookup and every update costs O(1) whatever the depth and however many bindings are in scope
 *   (a stack of URIs per prefix, never a copied map per element), so hostile documents stay linear.
 */

/** One binding: [prefix, uri]. */
export type Binding = readonly [prefix: string, uri: string];

export class NamespaceScope {
  readonly #stacks = new Map<string, string[]>();
  /** The URI bound to '' (the default namespace), kept at hand for unprefixed names. */
  default = '';

  /** `initial` bindings are in scope from the start (the `xml` prefix for the parser). */
  constructor(initial: readonly Binding[] = []) {
    this.push(initial);
  }

  /** The URI bound to `prefix` (for '' the default namespace, '' when none), or undefined. */
  get(prefix: string): string | undefined {
    return prefix === '' ? this.default : this.#stacks.get(prefix)?.at(-1);
  }

  push(bindings: readonly Binding[]): void {
    if (bindings.length === 0) {
      return;
    }
    for (const [prefix, uri] of bindings) {
      const stack = this.#stacks.get(prefix);
      if (stack === undefined) {
        this.#stacks.set(prefix, [uri]);
      } else {
        stack.push(uri);
      }
    }
    this.default = this.#stacks.get('')?.at(-1) ?? '';
  }

  pop(bindings: readonly Binding[]): void {
    if (bindings.length === 0) {
      return;
    }
    for (const [prefix] of bindings) {
      this.#stacks.get(prefix)?.pop();
    }
    this.default = this.#stacks.get('')?.at(-1) ?? '';
  }
}
