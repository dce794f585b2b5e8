// Creates (or reuses) the per-run SoftHSM cards and test PKI, and tells the test files where they are.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export default function setup(): void {
  const root = resolve(import.meta.dirname, '..', '..');
  const dir = process.env.RXSIGN_TEST_SOFTHSM_DIR ?? join(root, '.rxsign-test', 'softhsm');
  execFileSync(process.execPath, [join(root, 'softhsm', 'setup.mjs'), dir], { stdio: 'pipe' });
  process.env.RXSIGN_TEST_SOFTHSM_DIR = dir;
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
}
