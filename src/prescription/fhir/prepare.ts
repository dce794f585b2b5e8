/**
 * EPS `$prepare`, computed locally (docs/protocol/eps-signing.md §1.4, §3.1): the FHIR Bundle's signed parts
 * (translate.ts), their canonical fragments (fragments.ts `fragmentsFromParts`), the digest and the
 * SignedInfo (signed-info.ts). Rules:
 * - `timestamp` is the signing time EPS hashes as `author/time`: an ISO 8601 date-time with an offset,
 *   truncated to the second, returned as EPS returns it (`YYYY-MM-DDTHH:mm:ss+00:00`, UTC);
 * - `algorithm` is RS256 (default) or RS1;
 * - the answer is byte for byte what EPS `$prepare` returns for the same Bundle and timestamp:
 *   `digest` = base64 of the canonical SignedInfo.
 */
import { fragmentsFromParts } from '../fragments.js';
import { hashableRoot } from '../hashable.js';
import { buildSignedInfo, type SignatureAlgorithm } from '../signed-info.js';
import { isoToHl7Timestamp } from '../timestamp.js';
import { buildElement, XmlAttribute } from '../xml-tree.js';
import { HL7_NAMESPACE } from '../fragments.js';
import { readBundle, type FhirBundle } from './bundle.js';
import { translateBundle } from './translate.js';

/** What `$prepare` returns, plus the bytes behind it. */
export interface PrepareResult {
  /** base64 of the canonical SignedInfo (the `digest` parameter). */
  readonly digest: string;
  /** `YYYY-MM-DDTHH:mm:ss+00:00`. */
  readonly timestamp: string;
  readonly algorithm: SignatureAlgorithm;
  readonly signedInfo: Uint8Array;
  /** The canonical FragmentsToBeHashed. */
  readonly fragments: Uint8Array;
}

/** A FHIR Parameters resource as EPS `$prepare` answers. */
export interface PrepareParameters {
  readonly resourceType: 'Parameters';
  readonly parameter: readonly { readonly name: string; readonly valueString: string }[];
}

/**
 * The canonical FragmentsToBeHashed of a Bundle with `author/time` = `hl7Time` (`YYYYMMDDHHmmss`).
 *
 * @example
 * ```ts
 * const fragments = fragmentsFromBundle(readBundle(json), '20241209115004');
 * ```
 */
export function fragmentsFromBundle(bundle: FhirBundle, hl7Time: string): Uint8Array {
  const parts = translateBundle(bundle);
  const root = (e: Parameters<typeof hashableRoot>[0]) => hashableRoot(e, HL7_NAMESPACE);
  const time = buildElement(
    'time',
    HL7_NAMESPACE,
    [new XmlAttribute('value', '', 'value', '', hl7Time)],
    [],
  );
  return fragmentsFromParts({
    time: root(time),
    id: root(parts.id),
    agentPerson: root(parts.agentPerson),
    recordTarget: root(parts.recordTarget),
    lineItems: parts.lineItems.map(root),
  });
}

/** HL7 `YYYYMMDDHHmmss` → EPS's ISO form `YYYY-MM-DDTHH:mm:ss+00:00`. */
export function hl7ToIso(hl7: string): string {
  return `${hl7.slice(0, 4)}-${hl7.slice(4, 6)}-${hl7.slice(6, 8)}T${hl7.slice(8, 10)}:${hl7.slice(10, 12)}:${hl7.slice(12, 14)}+00:00`;
}

/**
 * Computes what EPS `$prepare` returns for a prescription-order Bundle.
 *
 * @example
 * ```ts
 * const { digest } = prepareBundle(readFileSync('bundle.json'), { timestamp: '2024-12-09T11:50:04+00:00' });
 * ```
 */
export function prepareBundle(
  input: string | Uint8Array | object | FhirBundle,
  options: { timestamp: string; algorithm?: SignatureAlgorithm },
): PrepareResult {
  const bundle = isFhirBundle(input) ? input : readBundle(input);
  const hl7Time = isoToHl7Timestamp(options.timestamp);
  const algorithm = options.algorithm ?? 'RS256';
  const fragments = fragmentsFromBundle(bundle, hl7Time);
  const signedInfo = buildSignedInfo(fragments, algorithm);
  return {
    digest: Buffer.from(signedInfo).toString('base64'),
    timestamp: hl7ToIso(hl7Time),
    algorithm,
    signedInfo,
    fragments,
  };
}

/**
 * The `$prepare` answer as a FHIR Parameters resource (digest, timestamp, algorithm, in EPS's order).
 *
 * @example
 * ```ts
 * JSON.stringify(prepareParameters(prepareBundle(json, { timestamp })));
 * ```
 */
export function prepareParameters(result: PrepareResult): PrepareParameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'digest', valueString: result.digest },
      { name: 'timestamp', valueString: result.timestamp },
      { name: 'algorithm', valueString: result.algorithm },
    ],
  };
}

function isFhirBundle(v: unknown): v is FhirBundle {
  return typeof v === 'object' && v !== null && 'byFullUrl' in v && 'resources' in v;
}
