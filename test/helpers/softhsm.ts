// Where the per-run SoftHSM cards are (made by test/setup/softhsm-global.ts) and their fixture PINs.
// The PINs come from softhsm/cards.json, the only place they are written down.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface TestCard {
  label: string;
  serial: string;
  uid: string;
  name: string;
  profile: string;
  pin: string;
  soPin: string;
}

const root = resolve(import.meta.dirname, '..', '..');

export function softhsmDir(): string {
  const dir = process.env.RXSIGN_TEST_SOFTHSM_DIR;
  if (!dir) {
    throw new Error(
      'RXSIGN_TEST_SOFTHSM_DIR is not set: run this file in the softhsm vitest project',
    );
  }
  return dir;
}

export function softhsmModule(): string {
  return (JSON.parse(readFileSync(join(softhsmDir(), 'cards.json'), 'utf8')) as { module: string })
    .module;
}

export function testCard(label: string, dir = softhsmDir()): TestCard {
  const made = JSON.parse(readFileSync(join(dir, 'cards.json'), 'utf8')) as {
    cards: Omit<TestCard, 'pin' | 'soPin'>[];
  };
  const spec = JSON.parse(readFileSync(join(root, 'softhsm', 'cards.json'), 'utf8')) as {
    cards: { label: string; pin: string; soPin: string }[];
  };
  const m = made.cards.find((c) => c.label === label);
  const s = spec.cards.find((c) => c.label === label);
  if (!m || !s) {
    throw new Error(`no test card labelled ${label}`);
  }
  return { ...m, pin: s.pin, soPin: s.soPin };
}

/** Paths of the test PKI. */
export function pkiPaths(dir = softhsmDir()) {
  const pki = join(dir, 'pki');
  return {
    root: join(pki, 'root.pem'),
    authCa: join(pki, 'auth-ca.pem'),
    signCa: join(pki, 'sign-ca.pem'),
    retiredCa: join(pki, 'retired-ca.pem'),
    retiredSigner: join(pki, 'retired-signer.pem'),
    retiredSignerKey: join(pki, 'retired-signer.key'),
    chain: join(pki, 'chain.pem'),
    trustDir: join(pki, 'trust'),
    caDir: join(pki, 'ca'),
    crlDir: join(pki, 'crl'),
    caKey: (name: 'root' | 'auth-ca' | 'sign-ca' | 'retired-ca') => join(pki, 'db', `${name}.key`),
    cardCert: (label: string, kind: 'auth' | 'sign') => join(dir, 'cards', label, `${kind}.pem`),
    users: join(dir, 'users.json'),
  };
}

/**
 * A private copy of the whole SoftHSM folder (for tests that lock a card or remove a token folder), with its
 * own softhsm2.conf. Returns the folder and a cleanup function.
 */
export function privateSofthsmCopy(): { dir: string; conf: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-softhsm-'));
  cpSync(softhsmDir(), dir, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  const text = readFileSync(conf, 'utf8').replace(
    /^directories\.tokendir = .*$/m,
    `directories.tokendir = ${join(dir, 'tokens')}`,
  );
  writeFileSync(conf, text);
  return { dir, conf, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * SoftHSM sets CKF_USER_PIN_COUNT_LOW after one wrong PIN and keeps it (in the token folder) until a right
 * one; the PIN guard then lets only the agent's page try (docs/pin.md). A test that types a wrong PIN on a
 * shared card calls this afterwards (with no other port logged in: SoftHSM's login is per process) so that
 * the next test finds the card as it was.
 */
export async function clearPinCountLow(label: string): Promise<void> {
  const { openTokenPort } = await import('../../src/pkcs11/index.js');
  const port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
  try {
    await port.login({ label }, testCard(label).pin);
    await port.logout({ label });
  } finally {
    await port.close();
  }
}
