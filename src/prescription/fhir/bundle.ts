/**
 * Reading a FHIR R4 prescription-order Bundle the way EPS reads it (docs/protocol/eps-signing.md §3.1), with
 * each value's FHIR path kept for errors. Rules:
 * - the Bundle is `type: message` and its MessageHeader.eventCoding.code is `prescription-order`;
 * - a reference resolves to exactly one entry with that `fullUrl` (EPS `resolveReference`), else an error
 *   naming the reference;
 * - the resources keep Bundle order; `MedicationRequest[i]` in a path is the i-th MedicationRequest;
 * - strings that go into the signed XML must be valid XML 1.0 characters without CR (EPS's xml-js → xmldom
 *   round trip would alter or reject them) → ERR_FHIR_ELEMENT_INVALID.
 */
import { fhirError } from './errors.js';
import { JsonNumber, parseJsonLossless, type JsonObject, type JsonValue } from './json.js';

/** A FHIR value and the path that names it in errors. */
export interface At<T> {
  readonly value: T;
  readonly path: string;
}

/** A parsed prescription-order Bundle: its resources in order, and its entries by fullUrl. */
export interface FhirBundle {
  readonly root: JsonObject;
  readonly resources: readonly At<JsonObject>[];
  readonly byFullUrl: ReadonlyMap<string, At<JsonObject>[]>;
}

export const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);

/** `o.key` as an object, or undefined. */
export function objectAt(o: At<JsonObject>, key: string): At<JsonObject> | undefined {
  const v = o.value[key];
  if (v === undefined || v === null) {
    return undefined;
  }
  if (!isObject(v)) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: `${o.path}.${key}`,
      reason: 'expected an object',
    });
  }
  return { value: v, path: `${o.path}.${key}` };
}

/** `o.key` as an object; missing → ERR_FHIR_ELEMENT_MISSING. */
export function requireObject(o: At<JsonObject>, key: string): At<JsonObject> {
  const v = objectAt(o, key);
  if (v === undefined) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${o.path}.${key}` });
  }
  return v;
}

/** `o.key` as an array (of anything), or [] when absent. */
export function arrayAt(o: At<JsonObject>, key: string): At<JsonValue>[] {
  const v = o.value[key];
  if (v === undefined || v === null) {
    return [];
  }
  if (!Array.isArray(v)) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: `${o.path}.${key}`,
      reason: 'expected an array',
    });
  }
  return v.map((value, i) => ({ value, path: `${o.path}.${key}[${i}]` }));
}

/** `o.key` as an array of objects, or [] when absent. */
export function objectsAt(o: At<JsonObject>, key: string): At<JsonObject>[] {
  return arrayAt(o, key).map((item) => {
    if (!isObject(item.value)) {
      throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
        element: item.path,
        reason: 'expected an object',
      });
    }
    return { value: item.value, path: item.path };
  });
}

// XML 1.0 Char without CR (CR would be normalised differently by EPS's round trip).
const NOT_XML =
  /[^\t\n\x20-\uD7FF\uE000-\uFFFD\uD800-\uDFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `o.key` as a string, or undefined. */
export function stringAt(o: At<JsonObject>, key: string): string | undefined {
  const v = o.value[key];
  if (v === undefined || v === null) {
    return undefined;
  }
  if (typeof v !== 'string') {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: `${o.path}.${key}`,
      reason: 'expected a string',
    });
  }
  return checkedString(v, `${o.path}.${key}`);
}

/** `value` when every character can be signed in XML (XML 1.0 Char, no CR); else an error naming `path`. */
export function checkedString(value: string, path: string): string {
  if (NOT_XML.test(value)) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: path,
      reason: 'holds a character that cannot be signed in XML (a control character or CR)',
    });
  }
  return value;
}

/** `o.key` as a non-empty string; missing → ERR_FHIR_ELEMENT_MISSING. */
export function requireString(o: At<JsonObject>, key: string): string {
  const v = stringAt(o, key);
  if (v === undefined || v === '') {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${o.path}.${key}` });
  }
  return v;
}

/** `o.key` as the source text of a JSON number (or a numeric string, as EPS accepts), or undefined. */
export function numberTextAt(o: At<JsonObject>, key: string): string | undefined {
  const v = o.value[key];
  if (v === undefined || v === null) {
    return undefined;
  }
  if (v instanceof JsonNumber) {
    return v.text;
  }
  if (typeof v === 'number') {
    // A Bundle handed over as a JavaScript object (not JSON text): the number's shortest form.
    return String(v);
  }
  if (typeof v === 'string' && /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(v)) {
    return v;
  }
  throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
    element: `${o.path}.${key}`,
    reason: 'expected a number',
  });
}

/** The only element of a list; none or several → an error naming `path`. */
export function only<T>(items: readonly T[], path: string, what = 'exactly one element'): T {
  const [first, ...rest] = items;
  if (first === undefined) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: path, reason: `expected ${what}` });
  }
  if (rest.length > 0) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', { element: path, reason: `expected ${what}` });
  }
  return first;
}

/** The element, if at most one; several → an error naming `path`. */
export function onlyOrNone<T>(items: readonly T[], path: string): T | undefined {
  if (items.length > 1) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: path,
      reason: 'expected at most one element',
    });
  }
  return items[0];
}

/**
 * Reads a prescription-order Bundle from JSON text, bytes, or an already parsed object.
 *
 * @example
 * ```ts
 * const bundle = readBundle(readFileSync('prescription.json'));
 * bundle.resources.filter((r) => r.value.resourceType === 'MedicationRequest');
 * ```
 */
export function readBundle(input: string | Uint8Array | object): FhirBundle {
  const root =
    typeof input === 'string' || input instanceof Uint8Array
      ? parseJsonLossless(input)
      : (input as JsonValue);
  if (!isObject(root) || root.resourceType !== 'Bundle') {
    throw fhirError('ERR_FHIR_NOT_PRESCRIPTION_ORDER', { element: 'Bundle.resourceType' });
  }
  const bundle: At<JsonObject> = { value: root, path: 'Bundle' };
  const resources: At<JsonObject>[] = [];
  const byFullUrl = new Map<string, At<JsonObject>[]>();
  const counts = new Map<string, number>();
  for (const entry of objectsAt(bundle, 'entry')) {
    const resource = objectAt(entry, 'resource');
    if (resource === undefined) {
      continue;
    }
    const type = resource.value.resourceType;
    if (typeof type !== 'string') {
      throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${resource.path}.resourceType` });
    }
    const n = counts.get(type) ?? 0;
    counts.set(type, n + 1);
    const named: At<JsonObject> = { value: resource.value, path: `${type}[${n}]` };
    resources.push(named);
    const fullUrl = entry.value.fullUrl;
    if (typeof fullUrl === 'string') {
      byFullUrl.set(fullUrl, [...(byFullUrl.get(fullUrl) ?? []), named]);
    }
  }
  const header = resources.find((r) => r.value.resourceType === 'MessageHeader');
  const event = header === undefined ? undefined : objectAt(header, 'eventCoding');
  if (root.type !== 'message' || event === undefined || event.value.code !== 'prescription-order') {
    throw fhirError('ERR_FHIR_NOT_PRESCRIPTION_ORDER', {
      element: 'MessageHeader.eventCoding.code',
    });
  }
  return { root, resources, byFullUrl };
}

/** The resources of one type, in Bundle order. */
export function resourcesOf(bundle: FhirBundle, type: string): At<JsonObject>[] {
  return bundle.resources.filter((r) => r.value.resourceType === type);
}

/**
 * Resolves `ref.reference` to the one entry with that fullUrl (EPS `resolveReference`).
 *
 * @example
 * ```ts
 * const role = resolve(bundle, requireObject(medicationRequest, 'requester'));
 * ```
 */
export function resolve(bundle: FhirBundle, ref: At<JsonObject>, type?: string): At<JsonObject> {
  const reference = requireString(ref, 'reference');
  const found = bundle.byFullUrl.get(reference) ?? [];
  const target = only(found, `${ref.path}.reference`, 'exactly one Bundle entry with this fullUrl');
  if (type !== undefined && target.value.resourceType !== type) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: `${ref.path}.reference`,
      reason: `expected a reference to a ${type}`,
    });
  }
  return target;
}

/** The value of the one identifier with this system (EPS `getIdentifierValueForSystem`). */
export function identifierValue(
  identifiers: readonly At<JsonObject>[],
  system: string,
  path: string,
): string {
  const matching = identifiers.filter((i) => i.value.system === system);
  const one = only(matching, path, `one identifier with system ${system}`);
  return requireString(one, 'value');
}

/** The value of the identifier with this system, if any (EPS `getIdentifierValueOrNullForSystem`). */
export function identifierValueOrNone(
  identifiers: readonly At<JsonObject>[],
  system: string,
  path: string,
): string | undefined {
  const one = onlyOrNone(
    identifiers.filter((i) => i.value.system === system),
    path,
  );
  return one === undefined ? undefined : stringAt(one, 'value') || undefined;
}

/** The extensions of `o` with this url. */
export function extensionsOf(o: At<JsonObject>, url: string): At<JsonObject>[] {
  return objectsAt(o, 'extension').filter((e) => e.value.url === url);
}
