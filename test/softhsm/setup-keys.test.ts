// softhsm/setup.mjs keeps every private key it writes (the demo PKI's CA keys, the retired signer's key)
// private to its user: 0600, written with umask 077, and tightens keys a previous setup left readable.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const dir = process.env.RXSIGN_TEST_SOFTHSM_DIR ?? '';

function filesUnder(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : [],
  );
}

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) {
    rmSync(t, { recursive: true, force: true });
  }
});

describe('softhsm/setup.mjs private keys', () => {
  test('no file under the test folder that holds a private key is group- or world-readable', () => {
    const withKeys = filesUnder(dir).filter((f) =>
      readFileSync(f, 'latin1').includes('PRIVATE KEY-----'),
    );
    // The CA keys in pki/db and the retired signer's key at least.
    expect(withKeys.length).toBeGreaterThanOrEqual(5);
    for (const f of withKeys) {
      expect({ f, mode: (statSync(f).mode & 0o777).toString(8) }).toEqual({ f, mode: '600' });
    }
  });

  test('a key left readable by an older setup is made 0600 when the folder is reused', () => {
    const t = mkdtempSync(join(tmpdir(), 'rxsign-setup-keys-'));
    temps.push(t);
    const reuse = join(t, 'softhsm');
    mkdirSync(join(reuse, 'pki', 'db'), { recursive: true });
    copyFileSync(join(dir, '.stamp'), join(reuse, '.stamp'));
    const key = join(reuse, 'pki', 'db', 'root.key');
    writeFileSync(key, readFileSync(join(dir, 'pki', 'db', 'root.key')));
    chmodSync(key, 0o644);
    execFileSync(process.execPath, [join(root, 'softhsm', 'setup.mjs'), reuse], { stdio: 'pipe' });
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });
});
