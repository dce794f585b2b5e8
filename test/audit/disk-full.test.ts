// A real full disk (a 1 MiB tmpfs, mounted as root; skipped where mount is not allowed): the free-space
// reserve refuses first; a write that still meets ENOSPC fails with ERR_AUDIT_WRITE_FAILED; once space is
// freed the same open log reopens, re-checks and goes on, with no restart, and the chain verifies.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { signedEntry } from './fixtures.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'rxsign-tmpfs-'));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint], {
      stdio: 'ignore',
    });
    mounted = true;
  }
} catch {
  mounted = false;
}

async function fill(path: string): Promise<void> {
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(4096, 0x78);
  try {
    for (;;) {
      await fh.write(chunk);
    }
  } catch (err) {
    expect((err as { code?: unknown }).code).toBe('ENOSPC');
  } finally {
    await fh.close();
  }
}

beforeAll(() => undefined);
afterAll(() => {
  if (mounted) {
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
  }
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!mounted)('audit log on a full disk (tmpfs, root only)', () => {
  test('reserve refuses, ENOSPC fails the write, freeing space resumes without a restart', async () => {
    const path = join(mountPoint, 'rxsign', 'audit.log');
    const log = await openAuditLog(path, { reserveBytes: 256 * 1024 });
    try {
      await expect(log.ensureSpace()).resolves.toBeUndefined();
      await log.append(signedEntry(1));
      const filler = join(mountPoint, 'filler');
      await fill(filler);
      await expect(log.ensureSpace()).rejects.toMatchObject({ code: 'ERR_AUDIT_DISK_FULL' });
      // A batch that needs new pages on the full disk.
      const batch = Array.from({ length: 40 }, (_, i) => signedEntry(100 + i));
      await expect(log.append(batch)).rejects.toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED' });
      // Still full: the reopen (or its write) fails again, with a stable code.
      await expect(log.append(signedEntry(2))).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_AUDIT_(WRITE|OPEN)_FAILED$/),
      });
      await rm(filler);
      await expect(log.ensureSpace()).resolves.toBeUndefined();
      const [r] = await log.append(signedEntry(3));
      expect(r?.kind).toBe('sign');
      const v = await verifyAuditLog(path);
      expect(v).toMatchObject({ ok: true });
      expect(v.records).toBeGreaterThanOrEqual(2);
      // A partial line written by the failed batch, if any, was kept aside, not lost.
      const names = await readdir(join(mountPoint, 'rxsign'));
      expect(names).toContain('audit.log');
    } finally {
      await log.close();
    }
  });
});
