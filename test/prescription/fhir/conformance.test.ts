// Conformance of the local $prepare with EPS (docs/protocol/eps-signing.md §1.2–1.4, §3.1): for every case of
// the public EPS vectors (read in place beside the repo; skipped when absent), the digest equals EPS's byte for
// byte and the fragments equal those of EPS's own HL7 v3 conversion of the same Bundle.
import { describe, expect, it } from 'vitest';

import { prepareBundle } from '../../../src/prescription/fhir/index.js';
import { buildFragmentsToBeHashed } from '../../../src/prescription/fragments.js';
import { isoToHl7Timestamp } from '../../../src/prescription/timestamp.js';
import { HAVE_VECTORS, SKIP_REASON, prepareCases, prepareResponse, vector } from '../vectors.js';

/** The fragments one by one, so that a failure names the part (0 time+id, 1 author, 2 patient, 3+ items). */
const split = (bytes: Uint8Array): string[] =>
  Buffer.from(bytes).toString('utf8').split('</Fragment><Fragment>');

describe.skipIf(!HAVE_VECTORS)(`FHIR $prepare conformance with EPS ${SKIP_REASON}`, () => {
  const cases = prepareCases();

  it('finds the prepare cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });

  for (const name of cases) {
    it(`${name}: fragments equal EPS's HL7 v3 conversion, part by part`, () => {
      const { timestamp, algorithm } = prepareResponse(name);
      const ours = prepareBundle(vector('prepare', name, '1-Prepare-Request-200_OK.json'), {
        timestamp,
        algorithm: algorithm as 'RS256' | 'RS1',
      });
      const eps = buildFragmentsToBeHashed(
        vector('prepare', name, '1-Convert-Response-Send-200_OK.xml'),
        { authorTime: isoToHl7Timestamp(timestamp) },
      );
      expect(split(ours.fragments)).toEqual(split(eps));
    });

    it(`${name}: digest, timestamp and algorithm equal EPS's $prepare response`, () => {
      const expected = prepareResponse(name);
      const ours = prepareBundle(vector('prepare', name, '1-Prepare-Request-200_OK.json'), {
        timestamp: expected.timestamp,
        algorithm: expected.algorithm as 'RS256' | 'RS1',
      });
      expect({ digest: ours.digest, timestamp: ours.timestamp, algorithm: ours.algorithm }).toEqual(
        expected,
      );
    });
  }

  // The OAS example (spec-eRD) has no published HL7 v3 conversion, and its response dates from 2022-10, before
  // EPS hashed with exclusive C14N (May 2023): its digest is not reproducible by today's EPS either. Only the
  // RS1 SignedInfo template, the timestamp and the algorithm are checked.
  it('spec-eRD (RS1): the SignedInfo equals the OAS example except for DigestValue', () => {
    const body = JSON.parse(
      vector('prepare', 'spec-eRD', 'eRD-primary-example-res.json').toString('utf8'),
    ) as { parameter: { name: string; valueString: string }[] };
    const get = (key: string): string =>
      body.parameter.find((p) => p.name === key)?.valueString ?? '';
    const ours = prepareBundle(vector('prepare', 'spec-eRD', 'eRD-primary-example-req.json'), {
      timestamp: get('timestamp'),
      algorithm: 'RS1',
    });
    const template = (b64: string): string =>
      Buffer.from(b64, 'base64')
        .toString('utf8')
        .replace(/<DigestValue>[^<]*<\/DigestValue>/, '<DigestValue/>');
    expect(ours.algorithm).toBe(get('algorithm'));
    expect(ours.timestamp).toBe(get('timestamp'));
    expect(template(ours.digest)).toBe(template(get('digest')));
    expect(ours.digest).not.toBe('');
  });
});
