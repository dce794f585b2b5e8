// Content-commitment signing against SoftHSM cards (docs/protocol/eps-signing.md §1.5–1.8, §3, §6).
// Rules checked: every signature verified independently with openssl; refusals by policy; batch semantics;
// removal mid-batch; every attempt in the audit log (verified chain).
// (OpenSSL 3.0's cms has no -untrusted: -certfile puts chain.pem into the untrusted pool instead.)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  openAuditLog,
  verifyAuditLog,
  type AuditLog,
  type AuditRecord,
} from '../../../src/audit/index.js';
import { pemBlocks } from '../../../src/cms/index.js';
import { openTokenPort, type TokenPort } from '../../../src/pkcs11/index.js';
import {
  buildFragmentsToBeHashed,
  fragmentsFromDocument,
  signatureOfPrescription,
  buildSignedInfo,
  canonicalSignedInfoFromSignature,
  isoToHl7Timestamp,
  parseXml,
} from '../../../src/prescription/index.js';
import {
  createSigningService,
  loadSigningTrust,
  provenanceEntry,
  xmlDsigSignature,
  type SigningService,
} from '../../../src/signing/index.js';
import { FaultPort } from '../../helpers/fault-port.js';
import { opensslVerify, withTmp } from '../../helpers/openssl.js';
import { pkiPaths, softhsmModule, testCard } from '../../helpers/softhsm.js';

const VECTORS = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'vectors', 'eps');
const haveVectors = existsSync(VECTORS);
const enc = new TextEncoder();

function signedInfoFor(text: string, alg: 'RS256' | 'RS1'): Uint8Array {
  return buildSignedInfo(enc.encode(`<Fragment>${text}</Fragment>`), alg);
}
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');

let port: TokenPort;
let dir: string;
let auditPath: string;
let audit: AuditLog;
const services: SigningService[] = [];
const pki = pkiPaths();
const prescriber = testCard('prescriber');
const signPem = pki.cardCert('prescriber', 'sign');

function service(
  label: string,
  extra: Partial<Parameters<typeof createSigningService>[0]> = {},
): SigningService {
  const s = createSigningService({
    port,
    token: { label },
    pinPolicy: 'session',
    audit,
    chainDer: pemBlocks(readFileSync(pki.chain, 'latin1'), ['CERTIFICATE']),
    ...extra,
  });
  services.push(s);
  return s;
}

/** openssl verifies the i-th signature (base64) over the i-th SignedInfo with the prescriber's signing key. */
function expectOpensslVerifies(
  signatures: readonly { signature: string }[],
  signedInfos: readonly Uint8Array[],
): void {
  signatures.forEach((s, i) => {
    expect(
      opensslVerify(
        signPem,
        signedInfos[i] ?? new Uint8Array(),
        Buffer.from(s.signature, 'base64'),
        'sha256',
      ),
    ).toBe(true);
  });
}

/** The test card's port with its `sign` replaced (to count or watch signatures); the rest is forwarded. */
function portWithSign(sign: TokenPort['sign']): TokenPort {
  return {
    listSlots: () => port.listSlots(),
    login: (t, pin) => port.login(t, pin),
    logout: (t) => port.logout(t),
    loginState: (t) => port.loginState(t),
    certificates: (t) => port.certificates(t),
    sign,
    subscribe: (l) => port.subscribe(l),
    close: () => Promise.resolve(),
  };
}

function records(): AuditRecord[] {
  return readFileSync(auditPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

beforeAll(async () => {
  port = await openTokenPort({ modulePath: softhsmModule() });
  dir = mkdtempSync(join(tmpdir(), 'rxsign-sign-'));
  auditPath = join(dir, 'audit.log');
  audit = await openAuditLog(auditPath);
});

afterAll(async () => {
  services.forEach((s) => s.close());
  await audit.close();
  await port.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('§1.5/§3.2 EPS digest batch (signPrescription shape)', () => {
  test('every payload is signed over the decoded SignedInfo bytes; openssl verifies each; audited before return', async () => {
    const svc = service('prescriber');
    const infos = ['a', 'b', 'c'].map((t) => signedInfoFor(t, 'RS256'));
    const res = await svc.signEpsBatch(
      { payloads: infos.map((si, i) => ({ id: `rx-${i}`, payload: b64(si) })), algorithm: 'RS256' },
      { client: 'test', pin: prescriber.pin },
    );
    expect(res.failed_signatures).toEqual([]);
    expect(res.signatures.map((s) => s.id)).toEqual(['rx-0', 'rx-1', 'rx-2']);
    expect(res.certificate).toBe(
      b64(pemBlocks(readFileSync(signPem, 'latin1'), ['CERTIFICATE'])[0] ?? new Uint8Array()),
    );
    expectOpensslVerifies(res.signatures, infos);
    // Audit record exists for each before the answer (the append resolved before return).
    const signed = records().filter((r) => r.kind === 'sign' && r.outcome === 'signed');
    expect(signed.map((r) => (r.kind === 'sign' ? r.documentIds[0] : ''))).toEqual(
      expect.arrayContaining(['rx-0', 'rx-1', 'rx-2']),
    );
    const r0 = signed.find((r) => r.kind === 'sign' && r.documentIds[0] === 'rx-0');
    expect(r0).toMatchObject({
      cardSerial: prescriber.serial,
      uid: prescriber.uid,
      algorithm: 'RS256',
      client: 'test',
      payloadSha256: [
        createHash('sha256')
          .update(infos[0] ?? new Uint8Array())
          .digest('hex'),
      ],
    });
  });

  test('RS1 uses CKM_SHA1_RSA_PKCS (openssl -sha1 verifies)', async () => {
    const si = signedInfoFor('sha1', 'RS1');
    const res = await service('prescriber').signEpsBatch(
      { payloads: [{ id: 'one', payload: b64(si) }], algorithm: 'RS1' },
      { client: 'test', pin: prescriber.pin },
    );
    const sig = res.signatures[0];
    expect(sig).toBeDefined();
    expect(opensslVerify(signPem, si, Buffer.from(sig?.signature ?? '', 'base64'), 'sha1')).toBe(
      true,
    );
    expect(opensslVerify(signPem, si, Buffer.from(sig?.signature ?? '', 'base64'), 'sha256')).toBe(
      false,
    );
  });

  test('a batch with one bad item: the others are signed, the bad one is in failed_signatures', async () => {
    const good = [signedInfoFor('g1', 'RS256'), signedInfoFor('g2', 'RS256')];
    const res = await service('prescriber').signEpsBatch(
      {
        payloads: [
          { id: 'good-1', payload: b64(good[0] ?? new Uint8Array()) },
          { id: 'bad', payload: 'not base64!' },
          { id: 'good-2', payload: b64(good[1] ?? new Uint8Array()) },
        ],
        algorithm: 'RS256',
      },
      { client: 'test', pin: prescriber.pin },
    );
    expect(res.signatures.map((s) => s.id)).toEqual(['good-1', 'good-2']);
    expect(res.failed_signatures).toEqual([
      { id: 'bad', code: 'ERR_SIGN_BAD_PAYLOAD', message: expect.any(String) },
    ]);
    const bad = records().find((r) => r.kind === 'sign' && r.documentIds[0] === 'bad');
    expect(bad).toMatchObject({ outcome: 'refused', errorCode: 'ERR_SIGN_BAD_PAYLOAD' });
  });

  test('audit flooding: a batch of 250 bad payloads (<SignedInfo>anything</SignedInfo>) is ONE record with its item count, and no card signature', async () => {
    let cardSigns = 0;
    const counting = portWithSign((t, req) => {
      cardSigns++;
      return port.sign(t, req);
    });
    const svc = service('prescriber', { port: counting });
    const before = records().length;
    const junk = b64(enc.encode('<SignedInfo>anything</SignedInfo>'));
    const payloads = Array.from({ length: 250 }, (_, i) => ({ id: `junk-${i}`, payload: junk }));
    const res = await svc.signEpsBatch(
      { payloads, algorithm: 'RS256' },
      { client: 'test', pin: prescriber.pin },
    );
    expect(res.signatures).toEqual([]);
    expect(res.failed_signatures).toHaveLength(250);
    expect(new Set(res.failed_signatures.map((f) => f.code))).toEqual(
      new Set(['ERR_SIGN_BAD_PAYLOAD']),
    );
    expect(cardSigns).toBe(0);
    const written = records().slice(before);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_SIGN_BAD_PAYLOAD',
      items: 250,
      payloadSha256: [],
    });
    expect(written[0]?.kind === 'sign' ? written[0].documentIds : []).toHaveLength(250);
  });

  test('an audit write failure returns no signature (ERR_SIGN_AUDIT_FAILED); the next request reopens the log and signs, no restart', async () => {
    const own = join(dir, 'own-failing', 'audit.log');
    const log = await openAuditLog(own);
    try {
      const svc = service('prescriber', { audit: log });
      const si = signedInfoFor('af', 'RS256');
      const req = { payloads: [{ id: 'af', payload: b64(si) }], algorithm: 'RS256' };
      const probe = await open(join(dir, 'probe'), 'w');
      await probe.close();
      const proto = Object.getPrototypeOf(probe) as FileHandle;
      const spy = vi
        .spyOn(proto, 'datasync')
        .mockRejectedValueOnce(Object.assign(new Error('EIO'), { code: 'EIO' }));
      try {
        await expect(
          svc.signEpsBatch(req, { client: 'test', pin: prescriber.pin }),
        ).rejects.toMatchObject({ code: 'ERR_SIGN_AUDIT_FAILED' });
      } finally {
        spy.mockRestore();
      }
      const res = await svc.signEpsBatch(req, { client: 'test', pin: prescriber.pin });
      expect(res.signatures).toHaveLength(1);
      expect(await verifyAuditLog(own)).toMatchObject({ ok: true });
    } finally {
      await log.close();
    }
  });

  test('below the free-space reserve signing is refused before any card operation (ERR_AUDIT_DISK_FULL), and audited', async () => {
    const own = join(dir, 'own-full', 'audit.log');
    const log = await openAuditLog(own, { reserveBytes: Number.MAX_SAFE_INTEGER });
    try {
      let signs = 0;
      const counting = portWithSign((t, req) => {
        signs++;
        return port.sign(t, req);
      });
      const svc = service('prescriber', { audit: log, port: counting });
      await expect(
        svc.signCms(enc.encode('hello'), { client: 'test', pin: prescriber.pin }),
      ).rejects.toMatchObject({ code: 'ERR_AUDIT_DISK_FULL' });
      expect(signs).toBe(0);
      const lines = readFileSync(own, 'utf8').trim().split('\n');
      expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({
        outcome: 'refused',
        errorCode: 'ERR_AUDIT_DISK_FULL',
      });
    } finally {
      await log.close();
    }
  });

  test('a batch refused as a whole (too large) is one record with its item count', async () => {
    const before = records().length;
    const payloads = Array.from({ length: 251 }, (_, i) => ({
      id: `big-${i}`,
      payload: b64(signedInfoFor(`big${i}`, 'RS256')),
    }));
    await expect(
      service('prescriber').signEpsBatch(
        { payloads, algorithm: 'RS256' },
        { client: 'test', pin: prescriber.pin },
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_BATCH_TOO_LARGE' });
    const written = records().slice(before);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ errorCode: 'ERR_SIGN_BATCH_TOO_LARGE', items: 251 });
  });

  test('a batch with a repeated payload id is refused as a whole (which signature is whose could not be told), one record, nothing signed', async () => {
    // Before: both were signed, and the second item's Signature XML wrapped the first item's SignedInfo.
    const before = records().length;
    const payloads = ['one', 'two'].map((t) => ({
      id: 'rx-same',
      payload: b64(signedInfoFor(t, 'RS256')),
    }));
    await expect(
      service('prescriber').signEpsBatch(
        { payloads, algorithm: 'RS256' },
        { client: 'test', pin: prescriber.pin },
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_BAD_INPUT', detail: { field: 'payloads[].id' } });
    const written = records().slice(before);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_SIGN_BAD_INPUT',
      items: 2,
    });
  });

  test('§1.5 an unknown algorithm is refused before the card, and audited', async () => {
    await expect(
      service('prescriber').signEpsBatch(
        {
          payloads: [{ id: 'alg', payload: b64(signedInfoFor('x', 'RS256')) }],
          algorithm: 'RS512',
        },
        { client: 'test', pin: prescriber.pin },
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_ALGORITHM_UNSUPPORTED' });
    expect(records().at(-1)).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_SIGN_ALGORITHM_UNSUPPORTED',
      documentIds: ['alg'],
    });
  });

  test('§1.5 a SignedInfo whose SignatureMethod contradicts the algorithm is not signed', async () => {
    const res = await service('prescriber').signEpsBatch(
      {
        payloads: [{ id: 'mismatch', payload: b64(signedInfoFor('x', 'RS256')) }],
        algorithm: 'RS1',
      },
      { client: 'test', pin: prescriber.pin },
    );
    expect(res.signatures).toEqual([]);
    expect(res.failed_signatures[0]?.code).toBe('ERR_SIGN_ALGORITHM_UNSUPPORTED');
  });
});

describe.skipIf(!haveVectors)(
  '§3.1–3.3 $prepare vectors (skipped: ../shared/vectors not present)',
  () => {
    for (const name of ['erd-din', 'paramedic', 'multiple-drugs']) {
      test(`${name}: sign the real digest, openssl verifies it, Signature and Provenance per §1.6/§3.3`, async () => {
        const caseDir = join(VECTORS, 'prepare', name);
        const params = (
          JSON.parse(readFileSync(join(caseDir, '1-Prepare-Response-200_OK.json'), 'utf8')) as {
            parameter: { name: string; valueString: string }[];
          }
        ).parameter;
        const get = (n: string): string => params.find((p) => p.name === n)?.valueString ?? '';
        const digest = get('digest');
        const timestamp = get('timestamp');
        const bundle = JSON.parse(
          readFileSync(join(caseDir, '1-Prepare-Request-200_OK.json'), 'utf8'),
        ) as unknown;
        // The digest is what we would rebuild from the prescription (sanity of the vector and of our core).
        const rebuilt = buildSignedInfo(
          buildFragmentsToBeHashed(
            readFileSync(join(caseDir, '1-Convert-Response-Send-200_OK.xml')),
            {
              authorTime: isoToHl7Timestamp(timestamp),
            },
          ),
          'RS256',
        );
        expect(b64(rebuilt)).toBe(digest);

        // The test card's certificate is younger than the 2024 vectors, so the batch is signed without the prepare
        // timestamp (policy at now); the assembly is then the library's own (§1.6, §3.3).
        const res = await service('prescriber').signEpsBatch(
          { payloads: [{ id: name, payload: digest }], algorithm: get('algorithm') },
          { client: 'test', pin: prescriber.pin },
        );
        const signature = res.signatures[0]?.signature ?? '';
        const signedInfo = Buffer.from(digest, 'base64');
        expect(opensslVerify(signPem, signedInfo, Buffer.from(signature, 'base64'), 'sha256')).toBe(
          true,
        );
        expect(res.certificate).toMatch(/^[A-Za-z0-9+/]+=*$/);
        const signatureXml = xmlDsigSignature(signedInfo, signature, res.certificate);
        expect(signatureXml).toBe(
          `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">${signedInfo.toString('utf8')}<SignatureValue>${signature}</SignatureValue><KeyInfo><X509Data><X509Certificate>${res.certificate}</X509Certificate></X509Data></KeyInfo></Signature>`,
        );
        const provenance = provenanceEntry({ bundle, signatureXml, timestamp });
        const sig = provenance.resource.signature[0];
        expect(sig?.when).toBe(timestamp);
        expect(sig?.type).toEqual([
          { system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.1' },
        ]);
        expect(Buffer.from(sig?.data ?? '', 'base64').toString('utf8')).toBe(signatureXml);
        expect(sig?.who.reference).toMatch(/^urn:uuid:/);
        expect(provenance.resource.target.length).toBeGreaterThan(0);
        // A verifier's view: the SignedInfo inside the Signature is the digest, byte for byte.
        const sigEl = parseXml(signatureXml).root;
        expect(b64(canonicalSignedInfoFromSignature(sigEl))).toBe(digest);
      });
    }

    test('signEpsDigest: a fresh $prepare (Convert XML, timestamp now) → signature, Signature XML, Provenance (when = timestamp)', async () => {
      const caseDir = join(VECTORS, 'prepare', 'erd-din');
      const timestamp = new Date().toISOString().slice(0, 19) + '+00:00';
      const xml = readFileSync(join(caseDir, '1-Convert-Response-Send-200_OK.xml'));
      const digest = b64(
        buildSignedInfo(
          buildFragmentsToBeHashed(xml, { authorTime: isoToHl7Timestamp(timestamp) }),
          'RS256',
        ),
      );
      const bundle = JSON.parse(
        readFileSync(join(caseDir, '1-Prepare-Request-200_OK.json'), 'utf8'),
      ) as unknown;
      const res = await service('prescriber').signEpsDigest(
        { digest, algorithm: 'RS256', timestamp, bundle },
        { client: 'test', pin: prescriber.pin },
      );
      expect(
        opensslVerify(
          signPem,
          Buffer.from(digest, 'base64'),
          Buffer.from(res.signature, 'base64'),
          'sha256',
        ),
      ).toBe(true);
      expect(res.provenance.resource.signature[0]?.when).toBe(timestamp);
      expect(res.signatureXml).toBe(
        xmlDsigSignature(Buffer.from(digest, 'base64'), res.signature, res.certificate),
      );
      expect(res.provenance.resource.target.map((t) => t.reference)).toEqual([
        'urn:uuid:a54219b8-f741-4c47-b662-e4f8dfa49ab6',
        'urn:uuid:5cb17f5a-11ac-4e18-825f-6470467238b3',
      ]);
    });
  },
);

describe('§1.7 HL7 v3 ParentPrescription signing', () => {
  test.skipIf(!haveVectors)(
    'author/time := now, Signature in signatureText, digest rebuilt from the output, openssl verifies',
    async () => {
      const xml = readFileSync(
        join(VECTORS, 'prepare', 'erd-din', '1-Convert-Response-Send-200_OK.xml'),
      );
      const before = Date.now();
      const res = await service('prescriber').signHl7(xml, { client: 'test', pin: prescriber.pin });
      const doc = parseXml(res.xml);
      const received = canonicalSignedInfoFromSignature(signatureOfPrescription(doc));
      const rebuilt = buildSignedInfo(fragmentsFromDocument(doc), 'RS256');
      expect(Buffer.from(received).equals(Buffer.from(rebuilt))).toBe(true);
      expect(opensslVerify(signPem, received, Buffer.from(res.signature, 'base64'), 'sha256')).toBe(
        true,
      );
      expect(res.authorTime).toBe(
        isoToHl7Timestamp(new Date(Math.floor(before / 1000) * 1000).toISOString()).slice(0, 10) +
          res.authorTime.slice(10),
      );
      expect(res.xml).toContain(`<time value="${res.authorTime}"/>`);
      expect(res.xml).not.toContain('nullFlavor="NA"><');
      // Signed again (an existing Signature is replaced, not added).
      const again = await service('prescriber').signHl7(res.xml, {
        client: 'test',
        pin: prescriber.pin,
      });
      expect(again.xml.match(/<Signature /g)?.length).toBe(1);
    },
  );

  test('a document with no ParentPrescription is refused and audited', async () => {
    await expect(
      service('prescriber').signHl7('<x xmlns="urn:hl7-org:v3"/>', {
        client: 'test',
        pin: prescriber.pin,
      }),
    ).rejects.toMatchObject({ code: 'ERR_PRESCRIPTION_NOT_FOUND' });
    expect(records().at(-1)).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_PRESCRIPTION_NOT_FOUND',
    });
  });
});

describe('CMS (CAdES-BES) checked by openssl cms -verify', () => {
  const content = enc.encode('a document to sign\n');
  for (const pem of [false, true]) {
    for (const detached of [false, true]) {
      test(`${detached ? 'detached' : 'attached'}, ${pem ? 'PEM' : 'DER'}`, async () => {
        const cms = await service('prescriber').signCms(
          content,
          { client: 'test', pin: prescriber.pin },
          { detached, pem },
        );
        withTmp((t) => {
          writeFileSync(join(t, 'sig'), cms);
          writeFileSync(join(t, 'content'), content);
          const args = [
            'cms',
            '-verify',
            '-inform',
            pem ? 'PEM' : 'DER',
            '-in',
            join(t, 'sig'),
            '-CAfile',
            pki.root,
            '-certfile',
            pki.chain,
            '-purpose',
            'any',
            '-out',
            join(t, 'out'),
          ];
          if (detached) {
            args.push('-binary', '-content', join(t, 'content'));
          }
          try {
            execFileSync('openssl', args, { stdio: 'pipe' });
          } catch (e) {
            throw new Error(String((e as { stderr?: unknown }).stderr));
          }
          expect(readFileSync(join(t, 'out'))).toEqual(Buffer.from(content));
        });
        if (pem) {
          expect(Buffer.from(cms).toString('ascii')).toMatch(/^-----BEGIN CMS-----/);
        }
      });
    }
  }
});

describe('policy refusals (§6 "Key and certificate")', () => {
  test('revoked signing certificate (on the CRL) → ERR_SIGN_CERT_REVOKED; the prescriber passes the same check', async () => {
    const trust = await loadSigningTrust({
      trustDir: pki.trustDir,
      crlDir: pki.crlDir,
      chainFiles: [pki.chain],
    });
    await expect(
      service('revoked', { trust }).signCms(enc.encode('x'), {
        client: 'test',
        pin: testCard('revoked').pin,
      }),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_CERT_REVOKED' });
    expect(records().at(-1)).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_SIGN_CERT_REVOKED',
      cardSerial: testCard('revoked').serial,
    });
    const ok = await service('prescriber', { trust }).signCms(enc.encode('x'), {
      client: 'test',
      pin: prescriber.pin,
    });
    expect(ok.length).toBeGreaterThan(100);
  });

  test('expired certificate → ERR_SIGN_CERT_EXPIRED', async () => {
    await expect(
      service('expired').signEpsBatch(
        { payloads: [{ id: 'e', payload: b64(signedInfoFor('e', 'RS256')) }], algorithm: 'RS256' },
        { client: 'test', pin: testCard('expired').pin },
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_CERT_EXPIRED' });
    expect(records().at(-1)).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_SIGN_CERT_EXPIRED',
      documentIds: ['e'],
    });
  });

  test('private key usage period over (card pkup-ended) → ERR_SIGN_PKUP_OUTSIDE', async () => {
    await expect(
      service('pkup-ended').signCms(enc.encode('x'), {
        client: 'test',
        pin: testCard('pkup-ended').pin,
      }),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_PKUP_OUTSIDE' });
  });

  test('authentication-only card → ERR_SIGN_NO_SIGNING_CERT', async () => {
    await expect(
      service('auth-only').signCms(enc.encode('x'), {
        client: 'test',
        pin: testCard('auth-only').pin,
      }),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_NO_SIGNING_CERT' });
    expect(records().at(-1)).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_SIGN_NO_SIGNING_CERT',
    });
  });

  test('a prepare timestamp outside the PKUP is refused even though now is inside', async () => {
    await expect(
      service('prescriber').signEpsBatch(
        {
          payloads: [{ id: 't', payload: b64(signedInfoFor('t', 'RS256')) }],
          algorithm: 'RS256',
          timestamp: '2001-01-01T00:00:00+00:00',
        },
        { client: 'test', pin: prescriber.pin },
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGN_CERT_NOT_YET_VALID' });
  });
});

describe('audit record fields from the Spine session (broker reply, untrusted)', () => {
  test('a UID or role the audit record cannot hold does not fail the signature: card UID, no role', async () => {
    const cms = await service('prescriber').signCms(enc.encode('odd session'), {
      client: 'test',
      pin: prescriber.pin,
      uid: '5'.repeat(65),
      role: 'r\u00f4le',
    });
    expect(cms.length).toBeGreaterThan(100);
    expect(records().at(-1)).toMatchObject({
      outcome: 'signed',
      uid: prescriber.uid,
      role: null,
    });
  });
});

describe('PIN policy', () => {
  test("'per-signature' needs the PIN on every call; 'session' reuses the login", async () => {
    const per = service('prescriber', { pinPolicy: 'per-signature' });
    const payload = {
      payloads: [{ id: 'p', payload: b64(signedInfoFor('p', 'RS256')) }],
      algorithm: 'RS256',
    };
    await per.signEpsBatch(payload, { client: 'test', pin: prescriber.pin });
    await expect(per.signEpsBatch(payload, { client: 'test' })).rejects.toMatchObject({
      code: 'ERR_SIGN_PIN_REQUIRED',
    });
    const sess = service('prescriber');
    await sess.signEpsBatch(payload, { client: 'test', pin: prescriber.pin });
    const again = await sess.signEpsBatch(payload, { client: 'test' });
    expect(again.signatures).toHaveLength(1);
  });
});

describe('card removed mid-batch (FaultPort)', () => {
  test('no signature after the removal; the remaining items fail; the audit log records both', async () => {
    const fault = new FaultPort(port);
    const svc = service('prescriber', { port: fault });
    const infos = Array.from({ length: 6 }, (_, i) => signedInfoFor(`rm${i}`, 'RS256'));
    const payloads = infos.map((si, i) => ({ id: `rm-${i}`, payload: b64(si) }));
    await svc.signEpsBatch(
      { payloads: payloads.slice(0, 1), algorithm: 'RS256' },
      { client: 'test', pin: prescriber.pin },
    );
    fault.removeDuringSign(4, { label: prescriber.label, serial: prescriber.serial }); // 1 done, 3 more then removal
    const res = await svc.signEpsBatch({ payloads, algorithm: 'RS256' }, { client: 'test' });
    expect(res.signatures.map((s) => s.id)).toEqual(['rm-0', 'rm-1', 'rm-2']);
    expect(res.failed_signatures.map((f) => [f.id, f.code])).toEqual([
      ['rm-3', 'ERR_SIGN_CARD_REMOVED'],
      ['rm-4', 'ERR_SIGN_CARD_REMOVED'],
      ['rm-5', 'ERR_SIGN_CARD_REMOVED'],
    ]);
    expectOpensslVerifies(res.signatures, infos);
    // One record per signature, and one for the three items that failed the same way (with their count).
    const last4 = records().slice(-4);
    expect(
      last4.map((r) =>
        r.kind === 'sign' ? [r.documentIds, r.outcome, r.errorCode, r.items ?? 1] : [],
      ),
    ).toEqual([
      [['rm-0'], 'signed', null, 1],
      [['rm-1'], 'signed', null, 1],
      [['rm-2'], 'signed', null, 1],
      [['rm-3', 'rm-4', 'rm-5'], 'failed', 'ERR_SIGN_CARD_REMOVED', 3],
    ]);
    // The session was dropped: the next call needs the card (and a login) again.
    await expect(
      svc.signEpsBatch({ payloads: payloads.slice(0, 1), algorithm: 'RS256' }, { client: 'test' }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_SIGN_(PIN_REQUIRED|CARD_REMOVED)$/),
    });
  });

  test('a later item the card signed on another session before the failure was seen is not returned', async () => {
    // Which items the real card answered: the spy sits under the fault port.
    const infos = Array.from({ length: 6 }, (_, i) => signedInfoFor(`slow${i}`, 'RS256'));
    const answered: number[] = [];
    const spying = portWithSign(async (t, req) => {
      const sig = await port.sign(t, req);
      answered.push(infos.findIndex((si) => Buffer.from(si).equals(Buffer.from(req.data))));
      return sig;
    });
    const fault = new FaultPort(spying);
    const svc = service('prescriber', { port: fault });
    const payloads = infos.map((si, i) => ({ id: `sl-${i}`, payload: b64(si) }));
    await svc.signEpsBatch(
      { payloads: payloads.slice(0, 1), algorithm: 'RS256' },
      { client: 'test', pin: prescriber.pin },
    );
    // All six are sent at once (the batch window is wider); sl-2's failure is seen only after the card has
    // answered sl-3..sl-5 on its other sessions.
    fault.removeDuringSlowSign(3, { label: prescriber.label, serial: prescriber.serial });
    const res = await svc.signEpsBatch({ payloads, algorithm: 'RS256' }, { client: 'test' });
    expect(answered).toEqual(expect.arrayContaining([3, 4, 5]));
    expect(answered).not.toContain(2);
    expect(res.signatures.map((s) => s.id)).toEqual(['sl-0', 'sl-1']);
    expect(res.failed_signatures.map((f) => [f.id, f.code])).toEqual([
      ['sl-2', 'ERR_SIGN_CARD_REMOVED'],
      ['sl-3', 'ERR_SIGN_CARD_REMOVED'],
      ['sl-4', 'ERR_SIGN_CARD_REMOVED'],
      ['sl-5', 'ERR_SIGN_CARD_REMOVED'],
    ]);
    const last3 = records().slice(-3);
    expect(last3.map((r) => (r.kind === 'sign' ? [r.documentIds, r.outcome] : []))).toEqual([
      [['sl-0'], 'signed'],
      [['sl-1'], 'signed'],
      [['sl-2', 'sl-3', 'sl-4', 'sl-5'], 'failed'],
    ]);
  });

  test('the audit log of this whole file verifies', async () => {
    const v = await verifyAuditLog(auditPath);
    expect(v.ok).toBe(true);
    expect(v.records).toBe(records().length);
  });
});
