// FHIR section (issue 13 §4): the local EPS $prepare digest from a FHIR Bundle per second on one core (the
// largest public EPS prepare vector when the vectors are present beside the repo, and our own fixture always), and FHIR
// verification with content (the Bundle's fragments rebuilt and compared) per second through one Verifier.
// Target for both: >= 2,000/s. The verification input is our fixture, prepared and signed here with a temp key
// and self-signed nonRepudiation certificate trusted as the anchor; revocation off (no CRL involved).
import { sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate } from '../src/cms/index.js';
import { prepareBundle } from '../src/prescription/fhir/index.js';
import { provenanceEntry, xmlDsigSignature } from '../src/signing/index.js';
import { createVerifier } from '../src/verify/index.js';
import {
  projectRoot,
  rate,
  rateSync,
  selfSignedSigner,
  type Row,
  type SectionInput,
} from './common.js';

const SECTION = 'fhir';
const TARGET = 2000;
const PREPARE = join(projectRoot, '..', 'shared', 'vectors', 'eps', 'prepare');
const FIXTURE = join(
  projectRoot,
  'test',
  'prescription',
  'fhir',
  'fixtures',
  'prescription-order.json',
);
const CERT_CONFIG = `[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = 555000000201_Bench_Prescriber
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, nonRepudiation
`;

const row = (name: string, perSecond: number, extra?: string): Row => ({
  section: SECTION,
  name,
  perSecond,
  target: `>= ${TARGET}/s`,
  pass: perSecond >= TARGET,
  ...(extra === undefined ? {} : { extra }),
});

/** The largest `1-Prepare-Request-200_OK.json` of the public vectors, or undefined. */
function largestVector(): { name: string; bytes: Buffer } | undefined {
  if (!existsSync(PREPARE)) {
    return undefined;
  }
  let best: { name: string; path: string; size: number } | undefined;
  for (const d of readdirSync(PREPARE)) {
    const path = join(PREPARE, d, '1-Prepare-Request-200_OK.json');
    if (existsSync(path)) {
      const size = statSync(path).size;
      if (best === undefined || size > best.size) {
        best = { name: d, path, size };
      }
    }
  }
  return best === undefined ? undefined : { name: best.name, bytes: readFileSync(best.path) };
}

/**
 * Rows: digest from the largest vector and from the fixture (prepare per second, one core), FHIR
 * verification with content per second.
 *
 * @example
 * ```ts
 * extraSections.push({ name: 'fhir', run: fhirSection });
 * ```
 */
export async function fhirSection(input: SectionInput): Promise<Row[]> {
  const { ms } = input;
  const timestamp = '2026-01-02T03:04:05+00:00';
  const rows: Row[] = [];
  const vector = largestVector();
  if (vector === undefined) {
    rows.push({
      section: SECTION,
      name: 'local $prepare digest, largest EPS vector',
      perSecond: Number.NaN,
      extra: 'skipped: EPS vectors not present',
    });
  } else {
    const once = (): unknown => prepareBundle(vector.bytes, { timestamp });
    rateSync(() => void once(), Math.min(300, ms));
    const prepared = rateSync(() => void once(), ms);
    // Context for a loaded machine: plain JSON.parse of the same bytes, measured right after.
    const text = vector.bytes.toString('utf8');
    const parse = rateSync(() => void JSON.parse(text), ms);
    rows.push({
      ...row(
        `local $prepare digest, EPS vector ${vector.name} (${(vector.bytes.length / 1024).toFixed(1)} KB)`,
        prepared,
      ),
      baseline: 'JSON.parse of the same Bundle',
      ratio: prepared / parse,
    });
    rows.push({
      section: SECTION,
      name: `JSON.parse of the same Bundle (context, not a target)`,
      perSecond: parse,
    });
  }
  const fixture = readFileSync(FIXTURE);
  rateSync(() => void prepareBundle(fixture, { timestamp }), Math.min(300, ms));
  rows.push(
    row(
      `local $prepare digest, own fixture (${(fixture.length / 1024).toFixed(1)} KB)`,
      rateSync(() => void prepareBundle(fixture, { timestamp }), ms),
    ),
  );

  const dir = mkdtempSync(join(tmpdir(), 'rxsign-bench-fhir-'));
  try {
    const { keyPem, certDer } = selfSignedSigner(dir, CERT_CONFIG);
    const now = new Date().toISOString().slice(0, 19) + '+00:00';
    const prepared = prepareBundle(fixture, { timestamp: now });
    const xml = xmlDsigSignature(
      prepared.signedInfo,
      sign('sha256', prepared.signedInfo, keyPem).toString('base64'),
      certDer.toString('base64'),
    );
    const text = fixture.toString('utf8');
    const provenance = JSON.stringify(
      provenanceEntry({ bundle: JSON.parse(text), signatureXml: xml, timestamp: now }),
    );
    // Insert the Provenance as the last entry without re-serialising the Bundle (its numbers stay as written).
    const at = text.lastIndexOf(']');
    const signed = Buffer.from(`${text.slice(0, at)},${provenance}${text.slice(at)}`, 'utf8');
    const verifier = createVerifier({
      anchors: [parseCertificate(certDer)],
      revocation: 'off',
      fetchCrl: false,
    });
    const first = await verifier.verifyDocument(signed);
    if (first.indication !== 'TOTAL_PASSED') {
      rows.push({
        section: SECTION,
        name: 'FHIR verification with content',
        perSecond: Number.NaN,
        extra: `skipped: ${first.indication}/${first.subIndication ?? ''}`,
      });
      return rows;
    }
    await rate(() => verifier.verifyDocument(signed), Math.min(300, ms));
    rows.push(
      row(
        `FHIR verification with content, own fixture (${(signed.length / 1024).toFixed(1)} KB)`,
        await rate(() => verifier.verifyDocument(signed), ms),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
