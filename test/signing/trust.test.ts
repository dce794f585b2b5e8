// loadSigningTrust (src/signing/policy.ts) over the shared loader (src/cms/trust-store.ts): the signing policy
// fails closed on a trust or CRL folder it cannot fully read, and classifies what it can read.
import { copyFileSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { isServiceError } from '../../src/errors.js';
import { loadSigningTrust } from '../../src/signing/index.js';
import { pki } from '../cms/fixtures.js';

function trustDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-signing-trust-'));
  copyFileSync(pki.root, join(dir, 'root.pem'));
  copyFileSync(pki.signCa, join(dir, 'sign-ca.pem'));
  return dir;
}

test('a readable folder: the self-signed CA is the anchor, the sub-CA an intermediate, chain files added', async () => {
  const trust = await loadSigningTrust({ trustDir: trustDir(), chainFiles: [pki.authCa] });
  expect(trust.anchors).toHaveLength(1);
  expect(trust.anchors[0]?.subject).toBe(trust.anchors[0]?.issuer);
  expect(trust.intermediates).toHaveLength(2);
  expect(trust.crls).toHaveLength(0);
});

test('junk or a dangling link in the trust or CRL folder → ERR_SIGN_TRUST_UNREADABLE naming the files', async () => {
  const dir = trustDir();
  writeFileSync(join(dir, 'notes.txt'), 'not a certificate');
  const crlDir = mkdtempSync(join(tmpdir(), 'rxsign-signing-crl-'));
  symlinkSync(join(crlDir, 'missing.crl'), join(crlDir, 'dangling.crl'));
  const err = await loadSigningTrust({ trustDir: dir, crlDir }).catch((e: unknown) => e);
  expect(isServiceError(err) && err.code).toBe('ERR_SIGN_TRUST_UNREADABLE');
  expect(isServiceError(err) && err.detail?.files).toEqual([
    join(dir, 'notes.txt'),
    join(crlDir, 'dangling.crl'),
  ]);
});
