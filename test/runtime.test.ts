// Secret files (the per-start key, client keys, the approvals file): read only when the open file is a regular
// file of ours with no group or other access (src/runtime.ts readSecretFile). The checks are made on the open
// descriptor, so a path swapped for a link, a FIFO or another file between a check and the read is never read.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readSecretFile } from '../src/runtime.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'rxsign-secret-'));

/** The refusal's code and reason (the message is the error table's; the reason is in `detail`). */
function refusal(read: () => unknown): { code: string | undefined; reason: string | undefined } {
  try {
    read();
  } catch (err) {
    const e = err as { code?: string; detail?: { reason?: string } };
    return { code: e.code, reason: e.detail?.reason };
  }
  throw new Error('expected a refusal');
}

describe('readSecretFile', () => {
  test('a regular 0600 file of ours is read (trimmed)', () => {
    const file = join(dir(), 'key');
    writeFileSync(file, 'secret-value\n', { mode: 0o600 });
    expect(readSecretFile(file)).toBe('secret-value');
  });

  test('a missing file, a symbolic link (even to a good file), group access: refused with the reason', () => {
    const d = dir();
    expect(refusal(() => readSecretFile(join(d, 'absent'))).code).toBe('ERR_SECRET_FILE_UNSAFE');
    const good = join(d, 'good');
    writeFileSync(good, 'secret', { mode: 0o600 });
    const link = join(d, 'link');
    symlinkSync(good, link);
    expect(refusal(() => readSecretFile(link)).reason).toMatch(/symbolic link/);
    chmodSync(good, 0o640);
    expect(refusal(() => readSecretFile(good)).reason).toMatch(/group or others/);
  });

  test('a FIFO in the file’s place is refused at once (the open does not wait for a writer)', () => {
    const fifo = join(dir(), 'key');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    expect(refusal(() => readSecretFile(fifo))).toEqual({
      code: 'ERR_SECRET_FILE_UNSAFE',
      reason: 'is not a regular file',
    });
  });

  test.skipIf(process.getuid?.() !== 0)(
    'a file of another user is refused (skipped unless root: it needs a chown)',
    () => {
      const file = join(dir(), 'key');
      writeFileSync(file, 'secret', { mode: 0o600 });
      execFileSync('chown', ['65534:65534', file]);
      expect(refusal(() => readSecretFile(file)).reason).toMatch(/owned by uid 65534/);
    },
  );
});
