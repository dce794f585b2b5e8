// The benchmark sections added by the signing and verification features, in run order; each returns its rows.
// The input type lives in common.ts, so that the sections import it from there and nothing imports back
// into this list.
import type { Row, SectionInput } from './common.js';
import { signingSection } from './signing.js';
import { verifySection } from './verify.js';
import { fhirSection } from './fhir.js';
import { serviceSection } from './service.js';
import { cmSection } from './cm.js';

/**
 * `name` is the rows' section, as `--only` takes it; `rawRatios`: the section's targets are ratios against raw
 * C_Sign, which is then measured again just before it (index.ts).
 */
export const extraSections: readonly {
  name: string;
  rawRatios: boolean;
  run: (input: SectionInput) => Promise<Row[]>;
}[] = [
  { name: 'signing', rawRatios: true, run: signingSection },
  { name: 'verification', rawRatios: false, run: verifySection },
  { name: 'fhir', rawRatios: false, run: fhirSection },
  {
    name: 'service',
    rawRatios: true,
    run: (i) => serviceSection(i, i.signatures ?? 100_000),
  },
  { name: 'credential management', rawRatios: true, run: cmSection },
];
