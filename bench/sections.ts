// The benchmark sections added by the signing and verification features, in run order; each returns its rows.
// The input type lives in common.ts, so that the sections import it from there and nothing imports back
// into this list.
import type { Row, SectionInput } from './common.js';
import { signingSection } from './signing.js';
import { verifySection } from './verify.js';
import { fhirSection } from './fhir.js';
import { serviceSection } from './service.js';
import { cmSection } from './cm.js';

/** `name` is the rows' section, as `--only` takes it. */
export const extraSections: readonly {
  name: string;
  run: (input: SectionInput) => Promise<Row[]>;
}[] = [
  { name: 'signing', run: signingSection },
  { name: 'verification', run: verifySection },
  { name: 'fhir', run: fhirSection },
  { name: 'service', run: (i) => serviceSection(i, i.signatures ?? 100_000) },
  { name: 'credential management', run: cmSection },
];
