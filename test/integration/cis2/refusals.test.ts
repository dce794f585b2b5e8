// The simulator's certificate rules on card assertions made by the SoftHSM cards themselves (through the
// token port, as the agent does): revoked, expired and foreign cards are refused with `access_denied` and
// the refusal code; the card's signing (non-repudiation) certificate is no authentication certificate.
import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildCardAssertion } from '../../../src/cis2/card-assertion.js';
import { pemToDer } from '../../../src/cms/certificate.js';
import { pkiPaths, testCard } from '../../helpers/softhsm.js';
import { Jar, openLoginPage, postAssertion } from './http-driver.js';
import { startCis2Rig, type Cis2Rig } from './rig.js';

describe('card assertions the simulator refuses', () => {
  let rig: Cis2Rig;
  beforeAll(async () => {
    rig = await startCis2Rig({ label: 'prescriber', cardPollMs: 0 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** Signs an assertion for a fresh sign-in with `label`'s key `keyId`, posts it, returns the RP's result. */
  async function signInWith(
    label: string,
    keyId: '01' | '02',
    chain: string[],
  ): Promise<{ url: string; description: string | undefined }> {
    const card = testCard(label);
    const token = { label };
    await rig.agent.port.login(token, card.pin).catch(() => undefined); // already logged in is fine
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    const role = JSON.parse(readFileSync(pkiPaths().users, 'utf8')) as {
      uid: string;
      roles: { id: string }[];
    }[];
    const jws = await buildCardAssertion({
      uid: card.uid,
      selectedRoleId: role.find((u) => u.uid === card.uid)?.roles[0]?.id ?? '',
      nonce: page.nonce,
      audience: page.audience,
      origin: rig.cis2.url,
      authTime: Math.floor(Date.now() / 1000),
      cardSessionId: 'test-card-session',
      chain: chain.map((p) => pemToDer(readFileSync(p, 'utf8'))),
      now: Date.now(),
      sign: (data) => rig.agent.port.sign(token, { keyId, mechanism: 'SHA256_RSA_PKCS', data }),
    });
    const done = await postAssertion(jar, page.interactionUrl, jws);
    return { url: done.url, description: rig.rps[0]?.errors.at(-1)?.description };
  }

  const paths = () => pkiPaths();

  test('revoked card → CERT_REVOKED', async () => {
    const r = await signInWith('revoked', '01', [
      paths().cardCert('revoked', 'auth'),
      paths().authCa,
    ]);
    expect(r.url).toContain('error=access_denied');
    expect(r.description).toMatch(/^CERT_REVOKED: /);
  });

  test('expired card → CERT_EXPIRED', async () => {
    const r = await signInWith('expired', '01', [
      paths().cardCert('expired', 'auth'),
      paths().authCa,
    ]);
    expect(r.url).toContain('error=access_denied');
    expect(r.description).toMatch(/^CERT_EXPIRED: /);
  });

  test('the signing (non-repudiation) key and certificate → CERT_KEY_USAGE', async () => {
    const r = await signInWith('prescriber', '02', [
      paths().cardCert('prescriber', 'sign'),
      paths().signCa,
    ]);
    expect(r.url).toContain('error=access_denied');
    expect(r.description).toMatch(/^CERT_KEY_USAGE: /);
  });

  test('the auth-only card (an authentication key and nothing else) is enough for CIS2: accepted', async () => {
    const r = await signInWith('auth-only', '01', [
      paths().cardCert('auth-only', 'auth'),
      paths().authCa,
    ]);
    expect(r.url).toContain('/cb?code=');
    expect(rig.rps[0]?.logins.at(-1)?.claims).toMatchObject({
      sub: testCard('auth-only').uid,
      amr: ['N3_SMARTCARD'],
    });
  });

  test('a foreign card (a CA the simulator does not trust, same UID) → CERT_UNTRUSTED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxsign-foreign-'));
    try {
      const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      writeFileSync(join(dir, 'leaf.ext'), 'keyUsage=critical,digitalSignature\n');
      run([
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-subj',
        '/O=nhs/CN=Foreign CA',
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      run([
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'leaf.key',
        '-out',
        'leaf.csr',
        '-subj',
        `/O=nhs/OU=people/CN=${testCard('prescriber').uid}`,
      ]);
      run([
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'leaf.pem',
        '-days',
        '30',
        '-extfile',
        'leaf.ext',
      ]);
      const key = readFileSync(join(dir, 'leaf.key'), 'utf8');
      const jar = new Jar();
      const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
      const jws = await buildCardAssertion({
        uid: testCard('prescriber').uid,
        selectedRoleId: '555000000101',
        nonce: page.nonce,
        audience: page.audience,
        origin: rig.cis2.url,
        authTime: Math.floor(Date.now() / 1000),
        cardSessionId: 'foreign-card-session',
        chain: ['leaf.pem', 'ca.pem'].map((f) => pemToDer(readFileSync(join(dir, f), 'utf8'))),
        now: Date.now(),
        sign: (data) =>
          Promise.resolve(new Uint8Array(createSign('RSA-SHA256').update(data).sign(key))),
      });
      const done = await postAssertion(jar, page.interactionUrl, jws);
      expect(done.url).toContain('error=access_denied');
      expect(rig.rps[0]?.errors.at(-1)?.description).toMatch(/^CERT_UNTRUSTED: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
