import {
  appendFile,
  chmod,
  chown,
  mkdir,
  open,
  readFile,
  readdir,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { openAuditLog, ROOMY_BYTES, SPACE_READING_MS } from '../../src/audit/log.js';
import type { AuditLog } from '../../src/audit/log.js';
import { GENESIS_PREV, sealRecord } from '../../src/audit/record.js';
import type { AuditEntry } from '../../src/audit/record.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { readLines, refusedEntry, sha256, signedEntry, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let path: string;
const opened: AuditLog[] = [];

async function openLog(p = path, now?: () => Date): Promise<AuditLog> {
  const log = await openAuditLog(p, now === undefined ? {} : { now });
  opened.push(log);
  return log;
}

async function fileHandleProto(): Promise<FileHandle> {
  const fh = await open(join(dir, 'probe'), 'w');
  await fh.close();
  return Object.getPrototypeOf(fh) as FileHandle;
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'state', 'rxsign', 'audit.log');
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const log of opened.splice(0)) {
    await log.close();
  }
  await cleanup();
});

describe('openAuditLog / append', () => {
  test('append then verify round trip: records chain from the genesis value and verify', async () => {
    const log = await openLog();
    const [first] = await log.append(signedEntry(1));
    const more = await log.append([refusedEntry(2), signedEntry(3)]);
    expect(first?.seq).toBe(1);
    expect(first?.prev).toBe(GENESIS_PREV);
    expect(more.map((r) => r.seq)).toEqual([2, 3]);
    expect(more[0]?.prev).toBe(first?.hash);
    await log.close();
    const lines = await readLines(path);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);
    await expect(verifyAuditLog(path)).resolves.toEqual({
      ok: true,
      records: 3,
      head: more[1]?.hash,
      tornTail: false,
    });
  });

  test('reopening continues the same chain', async () => {
    const a = await openLog();
    await a.append([signedEntry(1), signedEntry(2)]);
    await a.close();
    const b = await openLog();
    const [r] = await b.append(signedEntry(3));
    expect(r?.seq).toBe(3);
    await b.close();
    expect((await verifyAuditLog(path)).records).toBe(3);
  });

  test('creates the folder 0700 and the file 0600', async () => {
    await openLog();
    expect((await stat(join(dir, 'state', 'rxsign'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'state'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test('tightens an existing log file to 0600', async () => {
    const p = join(dir, 'audit.log');
    await writeFile(p, '');
    await chmod(p, 0o644);
    await openLog(p);
    expect((await stat(p)).mode & 0o777).toBe(0o600);
  });

  test('records carry the injected clock', async () => {
    const log = await openLog(path, () => new Date('2025-03-04T05:06:07.089Z'));
    const [r] = await log.append(signedEntry());
    expect(r?.time).toBe('2025-03-04T05:06:07.089Z');
  });

  test('a batch append is one fdatasync, and the records are in the file when it resolves', async () => {
    const proto = await fileHandleProto();
    const log = await openLog();
    const datasync = vi.spyOn(proto, 'datasync');
    const entries = Array.from({ length: 250 }, (_, i) => signedEntry(i));
    const records = await log.append(entries);
    expect(datasync).toHaveBeenCalledTimes(1);
    expect(records).toHaveLength(250);
    // Read through another file descriptor, while the log is still open.
    expect(await readLines(path)).toHaveLength(250);
  });

  test('concurrent appends from many async callers keep one chain, each caller contiguous, with group commit', async () => {
    const proto = await fileHandleProto();
    const log = await openLog();
    const datasync = vi.spyOn(proto, 'datasync');
    const callers = Array.from({ length: 60 }, (_, i) =>
      log.append(Array.from({ length: 1 + (i % 4) }, (_, j) => signedEntry(i * 10 + j))),
    );
    const results = await Promise.all(callers);
    for (const records of results) {
      const seqs = records.map((r) => r.seq);
      expect(seqs).toEqual(seqs.map((_, k) => (seqs[0] ?? 0) + k));
    }
    const all = results
      .flat()
      .map((r) => r.seq)
      .sort((x, y) => x - y);
    expect(all).toEqual(all.map((_, k) => k + 1));
    expect(datasync.mock.calls.length).toBeLessThan(callers.length);
    const verdict = await verifyAuditLog(path);
    expect(verdict).toMatchObject({ ok: true, records: all.length });
  });

  test('rejects an entry with an extra field (a PIN) without echoing it, and writes nothing', async () => {
    const log = await openLog();
    const withPin = { ...signedEntry(), pin: '918273' } as unknown as AuditEntry;
    const err: unknown = await log.append([signedEntry(), withPin]).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_AUDIT_ENTRY_INVALID',
      message: 'the audit entry is not valid',
    });
    expect(JSON.stringify(err)).not.toContain('918273');
    expect(String((err as Error).message)).not.toContain('918273');
    expect(await readFile(path, 'utf8')).toBe('');
  });

  test('a caller that mutates its entry after append does not change what is written', async () => {
    const log = await openLog();
    const entry = { ...signedEntry(), documentIds: ['rx-1'] };
    const pending = log.append(entry);
    entry.documentIds.push('rx-forged');
    const [r] = await pending;
    expect(r?.kind === 'sign' ? r.documentIds : undefined).toEqual(['rx-1']);
  });

  test('after a failed fdatasync: that append fails, the next one reopens and re-checks the log (no restart)', async () => {
    const proto = await fileHandleProto();
    const log = await openLog();
    await log.append(signedEntry(1));
    const datasync = vi
      .spyOn(proto, 'datasync')
      .mockRejectedValueOnce(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await expect(log.append(signedEntry(2))).rejects.toMatchObject({
      code: 'ERR_AUDIT_WRITE_FAILED',
    });
    // The next append opens a new handle (the failed one is never written again) and re-reads the chain.
    const read = vi.spyOn(proto, 'read');
    const [r] = await log.append(signedEntry(3));
    expect(read).toHaveBeenCalled();
    expect(datasync.mock.contexts.at(-1)).not.toBe(datasync.mock.contexts[0]);
    // Record 2 reached the file before its fsync failed: it stays in the chain, after it comes record 3.
    expect(r?.seq).toBe(3);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3 });
  });

  test('a reopen that finds the chain broken refuses (ERR_AUDIT_CORRUPT), and succeeds once the file is repaired', async () => {
    const proto = await fileHandleProto();
    const log = await openLog();
    await log.append([signedEntry(1), signedEntry(2)]);
    const good = await readFile(path, 'utf8');
    vi.spyOn(proto, 'write').mockRejectedValueOnce(
      Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }),
    );
    await expect(log.append(signedEntry(3))).rejects.toMatchObject({
      code: 'ERR_AUDIT_WRITE_FAILED',
    });
    await writeFile(path, good.replace('prescription-1', 'prescription-X'));
    await expect(log.append(signedEntry(4))).rejects.toMatchObject({ code: 'ERR_AUDIT_CORRUPT' });
    await writeFile(path, good);
    const [r] = await log.append(signedEntry(5));
    expect(r?.seq).toBe(3);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3 });
  });

  test('a torn line left by the failed write is quarantined and recorded on reopen', async () => {
    const proto = await fileHandleProto();
    const log = await openLog();
    await log.append(signedEntry(1));
    vi.spyOn(proto, 'datasync').mockImplementationOnce(async () => {
      await appendFile(path, '{"half":');
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    });
    await expect(log.append(signedEntry(2))).rejects.toMatchObject({
      code: 'ERR_AUDIT_WRITE_FAILED',
    });
    await log.append(signedEntry(3));
    const lines = (await readLines(path)).map((l) => JSON.parse(l) as { kind: string });
    expect(lines.map((l) => l.kind)).toEqual(['sign', 'sign', 'repair', 'sign']);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 4 });
  });

  test('free-space reserve: ensureSpace refuses with ERR_AUDIT_DISK_FULL below it, passes above it', async () => {
    const log = await openAuditLog(path, { reserveBytes: Number.MAX_SAFE_INTEGER });
    opened.push(log);
    await expect(log.ensureSpace()).rejects.toMatchObject({
      code: 'ERR_AUDIT_DISK_FULL',
      detail: { reserveBytes: Number.MAX_SAFE_INTEGER },
    });
    // Appends (the records of the refusals) still work inside the reserve.
    await expect(log.append(refusedEntry(1))).resolves.toHaveLength(1);
    const roomy = await openAuditLog(join(dir, 'other', 'audit.log'), { reserveBytes: 1 });
    opened.push(roomy);
    await expect(roomy.ensureSpace()).resolves.toBeUndefined();
  });

  test('free-space readings: a roomy one is reused for a second less what the log wrote; near the reserve, or after a refusal, every call reads', async () => {
    const MiB = 1024 * 1024;
    const reserve = 64 * MiB;
    let free = reserve + ROOMY_BYTES + 10 * MiB;
    let clock = 0;
    let reads = 0;
    const log = await openAuditLog(path, {
      reserveBytes: reserve,
      monotonicNow: () => clock,
      statfs: () => {
        reads += 1;
        return Promise.resolve({ bavail: free / 4096, bsize: 4096 });
      },
    });
    opened.push(log);
    await log.ensureSpace();
    await log.ensureSpace();
    expect(reads).toBe(1); // roomy: reused
    clock += SPACE_READING_MS;
    await log.ensureSpace();
    expect(reads).toBe(2); // a second later: read again
    // Near the reserve: every call reads.
    free = reserve + ROOMY_BYTES - 4096;
    clock += SPACE_READING_MS;
    await log.ensureSpace();
    await log.ensureSpace();
    expect(reads).toBe(4);
    // Roomy by a few hundred bytes: what this log writes uses the margin up, and the disk is read again.
    free = reserve + ROOMY_BYTES + 200;
    clock += SPACE_READING_MS;
    await log.ensureSpace();
    await log.ensureSpace();
    expect(reads).toBe(5);
    await log.append(signedEntry(1)); // a record is longer than 200 bytes
    await log.ensureSpace();
    expect(reads).toBe(6);
    // A refusal is never reused: the space freed is seen at the next call.
    free = reserve - 4096;
    clock += SPACE_READING_MS;
    await expect(log.ensureSpace()).rejects.toMatchObject({ code: 'ERR_AUDIT_DISK_FULL' });
    free = reserve + ROOMY_BYTES + 10 * MiB;
    await expect(log.ensureSpace()).resolves.toBeUndefined();
    expect(reads).toBe(8);
  });

  test('a record standing for several items carries `items` and verifies; items 1 or 0 is not a valid entry', async () => {
    const log = await openLog();
    const [r] = await log.append({ ...refusedEntry(1), items: 250 });
    expect(r).toMatchObject({ items: 250 });
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 1 });
    for (const items of [0, 1, 1.5, 1001]) {
      await expect(log.append({ ...refusedEntry(2), items })).rejects.toMatchObject({
        code: 'ERR_AUDIT_ENTRY_INVALID',
      });
    }
  });

  test('a clock that returns an invalid date fails that append but leaves the log usable', async () => {
    let bad = true;
    const log = await openLog(path, () => (bad ? new Date(Number.NaN) : new Date()));
    await expect(log.append(signedEntry())).rejects.toMatchObject({
      code: 'ERR_AUDIT_WRITE_FAILED',
    });
    bad = false;
    await expect(log.append(signedEntry())).resolves.toHaveLength(1);
  });

  test('appends after close are refused; close commits what was queued', async () => {
    const log = await openLog();
    const pending = log.append(signedEntry(1));
    await log.close();
    await expect(pending).resolves.toHaveLength(1);
    await expect(log.append(signedEntry(2))).rejects.toMatchObject({ code: 'ERR_AUDIT_CLOSED' });
  });
});

describe('lock', () => {
  test('a second open of the same log is refused while the first holds it', async () => {
    await openLog();
    await expect(openAuditLog(path)).rejects.toMatchObject({ code: 'ERR_AUDIT_LOCKED' });
  });

  test('close releases the lock', async () => {
    const log = await openLog();
    await log.close();
    await (await openLog()).close();
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a lock left by a dead process is stale and taken over', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    expect(dead).toBeTypeOf('number');
    await (await openLog()).close();
    await writeFile(`${path}.lock`, `${String(dead)}\n`);
    await expect(openLog()).resolves.toBeDefined();
  });

  test('a fresh empty lock (another process is writing it) is held', async () => {
    await (await openLog()).close();
    await writeFile(`${path}.lock`, '');
    await expect(openAuditLog(path)).rejects.toMatchObject({ code: 'ERR_AUDIT_LOCKED' });
  });
});

describe('torn tail and corruption on open', () => {
  async function logWith(n: number): Promise<string[]> {
    const log = await openLog();
    await log.append(Array.from({ length: n }, (_, i) => signedEntry(i)));
    await log.close();
    return readLines(path);
  }

  test('a torn last line is quarantined, truncated and recorded as a repair record', async () => {
    const lines = await logWith(3);
    const torn = (lines[2] ?? '').slice(0, 57);
    await appendFile(path, torn);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3, tornTail: true });

    const log = await openLog();
    await log.close();
    const after = await readLines(path);
    expect(after.slice(0, 3)).toEqual(lines);
    const repair = JSON.parse(after[3] ?? '{}') as Record<string, unknown>;
    expect(repair).toMatchObject({
      kind: 'repair',
      seq: 4,
      reason: 'torn-tail',
      droppedBytes: 57,
      droppedSha256: sha256(torn),
    });
    const quarantine = join(path, '..', String(repair.quarantine));
    expect(await readFile(quarantine, 'utf8')).toBe(torn);
    expect((await stat(quarantine)).mode & 0o777).toBe(0o600);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 4, tornTail: false });
  });

  test('a whole record without its newline is a torn tail too (that write was never acknowledged)', async () => {
    await logWith(2);
    const { line } = sealRecord(signedEntry(9), {
      seq: 3,
      time: '2025-01-01T00:00:00.000Z',
      prev: GENESIS_PREV,
    });
    await appendFile(path, line.slice(0, -1));
    const log = await openLog();
    const [next] = await log.append(signedEntry(10));
    expect(next?.seq).toBe(4);
    expect((await readdir(join(path, '..'))).some((f) => f.startsWith('audit.log.torn-'))).toBe(
      true,
    );
  });

  test('a log whose chain is broken is not extended', async () => {
    const lines = await logWith(3);
    await writeFile(path, [lines[0], lines[2]].map((l) => `${l ?? ''}\n`).join(''));
    await expect(openAuditLog(path)).rejects.toMatchObject({
      code: 'ERR_AUDIT_CORRUPT',
      detail: { seq: 3, line: 2 },
    });
    // The lock is released after the refusal.
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test.each([
    ['group-writable', 0o770],
    ['world-writable', 0o777],
    ['world-writable with the sticky bit', 0o1777],
  ])('refuses a %s folder (ERR_AUDIT_FOLDER_UNSAFE), naming the problem', async (_what, mode) => {
    const folder = join(dir, 'shared');
    await mkdir(folder);
    await chmod(folder, mode);
    await expect(openAuditLog(join(folder, 'audit.log'))).rejects.toMatchObject({
      code: 'ERR_AUDIT_FOLDER_UNSAFE',
      detail: { problem: expect.stringContaining('writable by group or others') },
    });
    await expect(stat(join(folder, 'audit.log'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('refuses a folder that is a symbolic link', async () => {
    const real = join(dir, 'real');
    await mkdir(real, { mode: 0o700 });
    await symlink(real, join(dir, 'linked'));
    await expect(openAuditLog(join(dir, 'linked', 'audit.log'))).rejects.toMatchObject({
      code: 'ERR_AUDIT_FOLDER_UNSAFE',
      detail: { problem: 'is a symbolic link' },
    });
  });

  test.skipIf(process.getuid?.() !== 0)(
    'refuses a folder owned by another user (as root: chown to nobody)',
    async () => {
      const folder = join(dir, 'theirs');
      await mkdir(folder, { mode: 0o700 });
      await chown(folder, 65534, 65534);
      await expect(openAuditLog(join(folder, 'audit.log'))).rejects.toMatchObject({
        code: 'ERR_AUDIT_FOLDER_UNSAFE',
        detail: { problem: expect.stringContaining('owned by uid 65534') },
      });
    },
  );

  test('accepts its own 0700 folder and 0755 folder (not writable by others)', async () => {
    const folder = join(dir, 'mine');
    await mkdir(folder, { mode: 0o755 });
    await chmod(folder, 0o755);
    const log = await openLog(join(folder, 'audit.log'));
    await expect(log.append(signedEntry(1))).resolves.toHaveLength(1);
  });

  test('refuses a log path that is a symlink', async () => {
    const target = join(dir, 'elsewhere.log');
    await writeFile(target, '');
    const link = join(dir, 'link.log');
    await symlink(target, link);
    await expect(openAuditLog(link)).rejects.toMatchObject({ code: 'ERR_AUDIT_OPEN_FAILED' });
  });
});
