// CLI `rxsign verify` (exit codes, output) and the HTTP routes via supertest against createApp.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { createApp, verifyRouter } from '../../src/api/index.js';
import { keyed, testAccess } from '../helpers/api-key.js';
import { runVerify } from '../../src/cli/verify.js';
import { copyFileSync } from 'node:fs';
import { TempCa, certFile, opensslCmsSign, pki } from '../cms/fixtures.js';

const V = `${import.meta.dirname}/../../../shared/vectors/eps/`;
const present = existsSync(`${V}INDEX.md`);

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe.skipIf(!present)('rxsign verify (skipped: shared/vectors/eps not present)', () => {
  const trust = mkdtempSync(join(tmpdir(), 'rxsign-verify-trust-'));
  // A skipped describe still runs its body to collect the tests: read the vector only when it is there.
  if (present) {
    writeFileSync(
      join(trust, 'sha256-signer.pem'),
      Buffer.from(certFile(`${V}certs/signer-Sha256-AssuranceTeamTwo-INT-SigningG2.pem`).der),
    );
  }

  test('a passing file (openssl CMS under the test PKI, --trust/--crl folders) → exit 0 and a PASSED line', async () => {
    const ca = new TempCa('sign-ca');
    const u = ca.issue('555000000301_Cli_Signer');
    const crlDir = mkdtempSync(join(tmpdir(), 'rxsign-verify-crl-'));
    writeFileSync(join(crlDir, 'sign-ca.crl'), ca.crl());
    copyFileSync(join(pki.crlDir, 'root.arl'), join(crlDir, 'root.arl'));
    const file = ca.file('signed.p7m', opensslCmsSign(ca.file('c.txt', 'hello'), [u]));
    const trustDir = mkdtempSync(join(tmpdir(), 'rxsign-verify-ca-'));
    copyFileSync(pki.root, join(trustDir, 'root.pem'));
    copyFileSync(pki.signCa, join(trustDir, 'sign-ca.pem'));
    const t = io();
    const code = await runVerify([file, '--trust', trustDir, '--crl', crlDir], t.io);
    expect(
      t.out
        .join('\n')
        .split('\n')
        .filter((l) => /FAILED|failed/.test(l)),
    ).toEqual([]);
    expect(code).toBe(0);
    expect(t.out.join('\n')).toMatch(
      /signed\.p7m: PASSED\n {2}signer: 555000000301_Cli_Signer \(UID 555000000301\)/,
    );
    const t2 = io();
    expect(await runVerify([file, '--trust', trustDir], t2.io)).toBe(2); // no CRL: INDETERMINATE/TRY_LATER
    expect(t2.out.join('\n')).toContain('INDETERMINATE — TRY_LATER');
    // With no --trust/--crl the CLI reads RXSIGN_TRUST_DIR and RXSIGN_CRL_DIR, as the agent does.
    const saved = { trust: process.env.RXSIGN_TRUST_DIR, crl: process.env.RXSIGN_CRL_DIR };
    try {
      process.env.RXSIGN_TRUST_DIR = trustDir;
      process.env.RXSIGN_CRL_DIR = crlDir;
      const t3 = io();
      expect(await runVerify([file], t3.io)).toBe(0);
      delete process.env.RXSIGN_TRUST_DIR;
      delete process.env.RXSIGN_CRL_DIR;
      const t4 = io();
      expect(await runVerify([file], t4.io)).toBe(2); // no anchors: INDETERMINATE
      expect(t4.out.join('\n')).toContain('INDETERMINATE — NO_CERTIFICATE_CHAIN_FOUND');
    } finally {
      for (const [k, v] of [
        ['RXSIGN_TRUST_DIR', saved.trust],
        ['RXSIGN_CRL_DIR', saved.crl],
      ] as const) {
        if (v === undefined) {
          delete process.env[k];
        } else {
          process.env[k] = v;
        }
      }
    }
  });

  test('any failure → exit 1, FAILED, sub-indication and the first failing message', async () => {
    const t = io();
    expect(
      await runVerify(
        [
          `${V}hl7v3/SignatureAlgorithmSha256.UNWRAPPED-derived.xml`,
          `${V}hl7v3/SignatureIsInvalid.xml`,
          '--trust',
          trust,
          '--allow-sha1',
        ],
        t.io,
      ),
    ).toBe(1);
    expect(t.out.join('\n')).toContain(
      'SignatureIsInvalid.xml: FAILED — SIG_CRYPTO_FAILURE — Signature is invalid',
    );
  });

  test('--json prints the full reports', async () => {
    const t = io();
    const code = await runVerify(
      [`${V}hl7v3/SignatureAlgorithmSha256.UNWRAPPED-derived.xml`, '--trust', trust, '--json'],
      t.io,
    );
    const reports = JSON.parse(t.out.join('')) as {
      file: string;
      report: { indication: string; subIndication: string };
    }[];
    // The signer certificate is neither self-signed nor a CA, so it is an intermediate, not an anchor: no
    // anchor at all → INDETERMINATE (nothing could be trusted), exit 2.
    expect(reports[0]?.report).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
    });
    expect(code).toBe(2);
  });

  test('usage and I/O errors → exit 2 with one line', async () => {
    for (const argv of [
      [],
      ['--revocation', 'maybe', 'x'],
      ['/nonexistent/file.xml'],
      ['--bogus'],
    ]) {
      const t = io();
      expect(await runVerify(argv, t.io)).toBe(2);
      expect(t.err).toHaveLength(1);
    }
  });
});

describe.skipIf(!present)('POST /api/v1/verify (skipped: shared/vectors/eps not present)', () => {
  const app = createApp({
    access: testAccess(),
    logger: pino({ level: 'silent' }),
    routers: [verifyRouter({ fetchCrl: false, allowSha1: true })],
  });

  test('raw application/xml → 200 with the report', async () => {
    const { readFileSync } = await import('node:fs');
    const res = await keyed(app)
      .post('/api/v1/verify')
      .set('host', '127.0.0.1')
      .set('content-type', 'application/xml')
      .send(readFileSync(`${V}hl7v3/SignatureIsInvalid.xml`));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'SIG_CRYPTO_FAILURE',
    });
  });

  test('application/fhir+json → FHIR report; batch of two → two reports; bad batch → 400; text/plain → 415', async () => {
    const { readFileSync } = await import('node:fs');
    const fhir = readFileSync(`${V}fhir-signed/signature.json`);
    const one = await keyed(app)
      .post('/api/v1/verify')
      .set('host', '127.0.0.1')
      .set('content-type', 'application/fhir+json')
      .send(fhir.toString('utf8'));
    expect(one.body).toMatchObject({ format: 'FHIR-XMLDSig', subIndication: 'NOT_YET_VALID' });
    const batch = await keyed(app)
      .post('/api/v1/verify/batch')
      .set('host', '127.0.0.1')
      .send({
        documents: [
          { id: 'a', content: fhir.toString('base64') },
          { id: 'b', content: Buffer.from('junk').toString('base64') },
        ],
      });
    expect(
      batch.body.reports.map((r: { id: string; report: { subIndication: string } }) => [
        r.id,
        r.report.subIndication,
      ]),
    ).toEqual([
      ['a', 'NOT_YET_VALID'],
      ['b', 'FORMAT_FAILURE'],
    ]);
    expect(
      (
        await keyed(app)
          .post('/api/v1/verify/batch')
          .set('host', '127.0.0.1')
          .send({ documents: [] })
      ).status,
    ).toBe(400);
    expect(
      (
        await keyed(app)
          .post('/api/v1/verify')
          .set('host', '127.0.0.1')
          .set('content-type', 'text/plain')
          .send('x')
      ).status,
    ).toBe(415);
  });
});
