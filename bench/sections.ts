// Benchmark sections added by the signing and verification features; each returns its rows.
import type { BenchCard, Row } from './common.js';

export interface SectionInput {
  /** Signatures of the service section's memory run (--signatures, default 100,000). */
  signatures?: number;
  card: BenchCard;
  /** raw C_Sign per second, measured in this run */
  raw: number;
  /** openssl RSA-2048 verify per second, measured in this run */
  opensslVerify: number;
  ms: number;
}

/** `name` is the rows' section, as `--only` takes it. */
export const extraSections: { name: string; run: (input: SectionInput) => Promise<Row[]> }[] = [];
import { signingSection } from './signing.js';
extraSections.push({ name: 'signing', run: signingSection });
import { verifySection } from './verify.js';
extraSections.push({ name: 'verification', run: verifySection });
import { fhirSection } from './fhir.js';
extraSections.push({ name: 'fhir', run: fhirSection });
import { serviceSection } from './service.js';
extraSections.push({ name: 'service', run: (i) => serviceSection(i, i.signatures ?? 100_000) });
import { cmSection } from './cm.js';
extraSections.push({ name: 'credential management', run: cmSection });
