// loadTrustStore (src/cms/trust-store.ts): a trust folder with junk in it loads what it can and names the rest.
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadTrustStore } from '../../src/verify/index.js';
import { pki } from '../cms/fixtures.js';

test('junk files and a dangling symlink are rejected by name; the certificates still load', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-trust-'));
  copyFileSync(pki.root, join(dir, 'root.pem'));
  copyFileSync(pki.signCa, join(dir, 'sign-ca.pem'));
  writeFileSync(join(dir, 'notes.txt'), 'not a certificate');
  symlinkSync(join(dir, 'missing.pem'), join(dir, 'dangling.pem'));
  mkdirSync(join(dir, 'sub'));
  const store = await loadTrustStore({ trustDirs: [dir], crlDirs: [dir] });
  expect(store.anchors.map((c) => c.subject)).toHaveLength(1);
  expect(store.intermediates).toHaveLength(1);
  expect(store.rejected).toEqual(
    expect.arrayContaining([join(dir, 'dangling.pem'), join(dir, 'notes.txt')]),
  );
  expect(store.rejected).not.toContain(join(dir, 'sub'));
});
