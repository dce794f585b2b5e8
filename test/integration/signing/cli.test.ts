// `rxsign sign eps|hl7|cms` (docs/signing.md): the PIN from RXSIGN_PIN only, one error line and exit 2 on
// failure, outputs verified with openssl, every attempt in the audit log.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { verifyAuditLog } from '../../../src/audit/index.js';
import { runSign } from '../../../src/cli/sign.js';
import { buildSignedInfo } from '../../../src/prescription/signed-info.js';
import { opensslVerify } from '../../helpers/openssl.js';
import { pkiPaths, softhsmModule, testCard } from '../../helpers/softhsm.js';

const dir = mkdtempSync(join(tmpdir(), 'rxsign-cli-sign-'));
const pki = pkiPaths();
const card = testCard('prescriber');

/**
 * Each test has its own audit log and its own input files, so that no test depends on what another wrote
 * (or skipped: the hl7 test needs ../shared/vectors).
 */
function ownLog(): string {
  const name = expect.getState().currentTestName ?? 'unnamed';
  return join(dir, `${createHash('sha256').update(name).digest('hex').slice(0, 16)}.audit.log`);
}
function common(): string[] {
  return ['--module', softhsmModule(), '--token', 'prescriber', '--audit-log', ownLog()];
}
function inputDoc(text = 'cli document\n'): string {
  const path = join(mkdtempSync(join(dir, 'in-')), 'doc.txt');
  writeFileSync(path, text);
  return path;
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) },
  };
}

afterEach(() => {
  delete process.env.RXSIGN_PIN;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rxsign sign', () => {
  test('--help exits 0 and names every kind', async () => {
    const t = io();
    expect(await runSign(['--help'], t.io)).toBe(0);
    expect(t.out.join('')).toMatch(/sign eps[\s\S]*sign hl7[\s\S]*sign cms/);
  });

  test('eps --digest --algorithm --json: signature over the decoded digest verifies with openssl', async () => {
    process.env.RXSIGN_PIN = card.pin;
    const si = buildSignedInfo(new TextEncoder().encode('<Fragment>cli</Fragment>'), 'RS256');
    const t = io();
    const code = await runSign(
      [
        'eps',
        ...common(),
        '--digest',
        Buffer.from(si).toString('base64'),
        '--algorithm',
        'RS256',
        '--json',
      ],
      t.io,
    );
    expect(t.err).toEqual([]);
    expect(code).toBe(0);
    const res = JSON.parse(t.out.join('')) as {
      signature: string;
      signatureXml: string;
      provenance: unknown;
    };
    expect(
      opensslVerify(
        pki.cardCert('prescriber', 'sign'),
        si,
        Buffer.from(res.signature, 'base64'),
        'sha256',
      ),
    ).toBe(true);
    expect(res.signatureXml).toContain('<SignatureValue>');
  });

  test('eps --prepare FILE (a $prepare Parameters JSON) → 0', async () => {
    process.env.RXSIGN_PIN = card.pin;
    const si = buildSignedInfo(new TextEncoder().encode('<Fragment>prep</Fragment>'), 'RS1');
    const file = join(dir, 'prepare.json');
    writeFileSync(
      file,
      JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'digest', valueString: Buffer.from(si).toString('base64') },
          { name: 'timestamp', valueString: new Date().toISOString().slice(0, 19) + '+00:00' },
          { name: 'algorithm', valueString: 'RS1' },
        ],
      }),
    );
    const t = io();
    expect(await runSign(['eps', ...common(), '--prepare', file, '--json'], t.io)).toBe(0);
    const res = JSON.parse(t.out.join('')) as { signature: string };
    expect(
      opensslVerify(
        pki.cardCert('prescriber', 'sign'),
        si,
        Buffer.from(res.signature, 'base64'),
        'sha1',
      ),
    ).toBe(true);
  });

  test('cms --detached --pem: openssl cms -verify with -content', async () => {
    process.env.RXSIGN_PIN = card.pin;
    const input = inputDoc();
    const out = join(dir, 'doc.p7s');
    const t = io();
    expect(
      await runSign(
        [
          'cms',
          ...common(),
          '--chain',
          pki.chain,
          '--in',
          input,
          '--out',
          out,
          '--detached',
          '--pem',
        ],
        t.io,
      ),
    ).toBe(0);
    execFileSync(
      'openssl',
      [
        'cms',
        '-verify',
        '-inform',
        'PEM',
        '-in',
        out,
        '-CAfile',
        pki.root,
        '-certfile',
        pki.chain,
        '-purpose',
        'any',
        '-binary',
        '-content',
        input,
        '-out',
        join(dir, 'v'),
      ],
      { stdio: 'pipe' },
    );
    expect(readFileSync(join(dir, 'v'), 'utf8')).toBe('cli document\n');
  });

  test.skipIf(!existsSync('../shared/vectors'))(
    'hl7 --in --out (skipped without ../shared/vectors)',
    async () => {
      process.env.RXSIGN_PIN = card.pin;
      const out = join(dir, 'signed.xml');
      const t = io();
      const code = await runSign(
        [
          'hl7',
          ...common(),
          '--in',
          '../shared/vectors/eps/prepare/paramedic/1-Convert-Response-Send-200_OK.xml',
          '--out',
          out,
        ],
        t.io,
      );
      expect(t.err).toEqual([]);
      expect(code).toBe(0);
      expect(readFileSync(out, 'utf8')).toContain(
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">',
      );
    },
  );

  test('no PIN (no RXSIGN_PIN, no terminal) → one error line, exit 2', async () => {
    const t = io();
    const code = await runSign(
      ['cms', ...common(), '--in', inputDoc(), '--out', join(dir, 'x')],
      t.io,
    );
    expect(code).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toMatch(/^rxsign: .*\[ERR_SIGN_PIN_REQUIRED\]$/);
  });

  test('an authentication-only card → one error line naming ERR_SIGN_NO_SIGNING_CERT, exit 2, no PIN in output', async () => {
    const authOnly = testCard('auth-only');
    process.env.RXSIGN_PIN = authOnly.pin;
    const t = io();
    const args = [
      'cms',
      '--module',
      softhsmModule(),
      '--token',
      'auth-only',
      '--audit-log',
      ownLog(),
      '--in',
      inputDoc(),
      '--out',
      join(dir, 'y'),
    ];
    expect(await runSign(args, t.io)).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toContain('ERR_SIGN_NO_SIGNING_CERT');
    expect([...t.err, ...t.out].join('')).not.toContain(authOnly.pin);
  });

  test('unknown algorithm → exit 2, and the refusal is audited', async () => {
    process.env.RXSIGN_PIN = card.pin;
    const t = io();
    expect(
      await runSign(['eps', ...common(), '--digest', 'AAAA', '--algorithm', 'ES256'], t.io),
    ).toBe(2);
    expect(t.err[0]).toContain('ERR_SIGN_ALGORITHM_UNSUPPORTED');
    expect(await verifyAuditLog(ownLog())).toMatchObject({ ok: true, records: 1 });
  });

  test('every attempt of one audit log (signed EPS, signed CMS, refused) is recorded and the log verifies', async () => {
    process.env.RXSIGN_PIN = card.pin;
    const si = buildSignedInfo(new TextEncoder().encode('<Fragment>all</Fragment>'), 'RS256');
    const digest = Buffer.from(si).toString('base64');
    expect(
      await runSign(['eps', ...common(), '--digest', digest, '--algorithm', 'RS256'], io().io),
    ).toBe(0);
    expect(
      await runSign(
        ['cms', ...common(), '--in', inputDoc(), '--out', join(dir, 'all.p7m')],
        io().io,
      ),
    ).toBe(0);
    expect(
      await runSign(['eps', ...common(), '--digest', digest, '--algorithm', 'ES256'], io().io),
    ).toBe(2);
    expect(await verifyAuditLog(ownLog())).toMatchObject({ ok: true, records: 3 });
  });
});
