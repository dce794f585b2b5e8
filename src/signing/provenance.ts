/**
 * The FHIR Provenance entry that carries an EPS signature in a prescription Bundle
 * (docs/protocol/eps-signing.md §3.3).
 *
 * Rules:
 * - `signature.when` is the `$prepare` timestamp exactly as received (docs/protocol/eps-signing.md §1.8), never the signing clock;
 * - `who` (agent and signature) is the first MedicationRequest's requester; `target` is every MedicationRequest;
 * - `signature.data` is base64 of the UTF-8 XML-DSig Signature; the type is the ASTM E1762 author's signature;
 * - the Bundle is read, never changed.
 */
import { randomUUID } from 'node:crypto';

/** A FHIR `Bundle.entry` holding the Provenance of §3.3. */
export interface ProvenanceEntry {
  fullUrl: string;
  resource: {
    resourceType: 'Provenance';
    id: string;
    target: { reference: string }[];
    recorded: string;
    agent: { who: { reference: string } }[];
    signature: {
      type: { system: string; code: string }[];
      when: string;
      who: { reference: string };
      data: string;
    }[];
  };
}

interface BundleLike {
  entry?: {
    fullUrl?: unknown;
    resource?: { resourceType?: unknown; requester?: { reference?: unknown } };
  }[];
}

/**
 * The Provenance entry of §3.3: `signature.when` = the prepare `timestamp` (§1.8), `who` = the first
 * MedicationRequest's requester, `target` = every MedicationRequest, `data` = base64(UTF-8 XML-DSig).
 *
 * @example
 * ```ts
 * bundle.entry.push(provenanceEntry({ bundle, signatureXml, timestamp: prepare.timestamp }));
 * ```
 */
export function provenanceEntry(o: {
  bundle?: unknown;
  requesterReference?: string;
  targets?: readonly string[];
  signatureXml: string;
  timestamp: string;
  recorded?: Date;
  uuid?: string;
}): ProvenanceEntry {
  const entries = (o.bundle as BundleLike | undefined)?.entry ?? [];
  const requests = Array.isArray(entries)
    ? entries.filter((e) => e.resource?.resourceType === 'MedicationRequest')
    : [];
  const targets =
    o.targets ??
    requests.map((e) => (typeof e.fullUrl === 'string' ? e.fullUrl : '')).filter((u) => u !== '');
  const firstRequester = requests[0]?.resource?.requester?.reference;
  const who = o.requesterReference ?? (typeof firstRequester === 'string' ? firstRequester : '');
  const id = o.uuid ?? randomUUID();
  return {
    fullUrl: `urn:uuid:${id}`,
    resource: {
      resourceType: 'Provenance',
      id,
      target: targets.map((reference) => ({ reference })),
      recorded: (o.recorded ?? new Date()).toISOString(),
      agent: [{ who: { reference: who } }],
      signature: [
        {
          type: [{ system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.1' }],
          when: o.timestamp,
          who: { reference: who },
          data: Buffer.from(o.signatureXml, 'utf8').toString('base64'),
        },
      ],
    },
  };
}
