// Benchmark sections added by the signing and verification features; each returns its rows.
import type { BenchCard, Row } from './common.js';

export interface SectionInput {
  card: BenchCard;
  /** raw C_Sign per second, measured in this run */
  raw: number;
  /** openssl RSA-2048 verify per second, measured in this run */
  opensslVerify: number;
  ms: number;
}

export const extraSections: ((input: SectionInput) => Promise<Row[]>)[] = [];
import { signingSection } from './signing.js';
extraSections.push(signingSection);
import { verifySection } from './verify.js';
extraSections.push(verifySection);
