import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { GENESIS_PREV, canonicalJson, recordHash } from '../../src/audit/record.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { BREAK_REASONS } from '../../src/audit/scan.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { omit, readLines, signedEntry, tempDir, writeLines } from './fixtures.js';

let cleanup: () => Promise<void>;
let path: string;
let lines: string[];

beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'audit.log');
  const log = await openAuditLog(path);
  await log.append(Array.from({ length: 6 }, (_, i) => signedEntry(i + 1)));
  await log.close();
  lines = await readLines(path);
});

afterEach(() => cleanup());

function parsed(i: number): AuditRecord {
  return JSON.parse(lines[i] ?? '') as AuditRecord;
}

/** Rewrites a record as a careful forger would: new content, recomputed hash, canonical bytes. */
function forge(record: Record<string, unknown>): string {
  const rest = omit(record, 'hash');
  return canonicalJson({ ...rest, hash: recordHash(rest as unknown as AuditRecord) });
}

async function verdictAfter(edited: readonly string[]) {
  await writeLines(path, edited);
  return verifyAuditLog(path);
}

describe('verifyAuditLog', () => {
  test('an untouched log verifies', async () => {
    await expect(verifyAuditLog(path)).resolves.toMatchObject({
      ok: true,
      records: 6,
      tornTail: false,
    });
  });

  test('an empty log verifies with no records and the genesis head', async () => {
    await writeFile(path, '');
    await expect(verifyAuditLog(path)).resolves.toEqual({
      ok: true,
      records: 0,
      head: GENESIS_PREV,
      tornTail: false,
    });
  });

  test('an edited field breaks the hash of that record', async () => {
    const edited = [...lines];
    edited[2] = (lines[2] ?? '')
      .replace('"outcome":"signed"', '"outcome":"failed"')
      .replace('"errorCode":null', '"errorCode":"ERR_X"');
    await expect(verdictAfter(edited)).resolves.toEqual({
      ok: false,
      records: 2,
      head: parsed(1).hash,
      firstBroken: { seq: 3, line: 3, reason: BREAK_REASONS.hash },
    });
  });

  test('an edited record with a recomputed hash breaks the link of the next record', async () => {
    const edited = [...lines];
    edited[2] = forge({ ...parsed(2), documentIds: ['prescription-forged'] });
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      ok: false,
      firstBroken: { seq: 4, line: 4, reason: BREAK_REASONS.prev },
    });
  });

  test('a deleted record breaks the sequence where it was', async () => {
    const edited = lines.filter((_, i) => i !== 2);
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      ok: false,
      records: 2,
      firstBroken: { seq: 4, line: 3, reason: BREAK_REASONS.seq },
    });
  });

  test('reordered records break the sequence at the first moved one', async () => {
    const edited = [...lines];
    [edited[2], edited[3]] = [lines[3] ?? '', lines[2] ?? ''];
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      ok: false,
      firstBroken: { seq: 4, line: 3, reason: BREAK_REASONS.seq },
    });
  });

  test('an inserted record (forged with a valid hash and link) breaks the record after it', async () => {
    const inserted = forge({ ...parsed(2), documentIds: ['prescription-inserted'] });
    const edited = [...lines.slice(0, 2), inserted, ...lines.slice(2)];
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      ok: false,
      records: 3,
      firstBroken: { seq: 3, line: 4, reason: BREAK_REASONS.seq },
    });
  });

  test('a duplicated record breaks the sequence', async () => {
    const edited = [...lines.slice(0, 3), lines[2] ?? '', ...lines.slice(3)];
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      ok: false,
      firstBroken: { seq: 3, line: 4, reason: BREAK_REASONS.seq },
    });
  });

  test('a deleted first record breaks the genesis', async () => {
    await expect(verdictAfter(lines.slice(1))).resolves.toMatchObject({
      ok: false,
      records: 0,
      firstBroken: { seq: 2, line: 1, reason: BREAK_REASONS.genesis },
    });
  });

  test('a first record with another prev (re-hashed) breaks the genesis', async () => {
    const edited = [...lines];
    edited[0] = forge({ ...parsed(0), prev: 'f'.repeat(64) });
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      ok: false,
      firstBroken: { seq: 1, line: 1, reason: BREAK_REASONS.genesis },
    });
  });

  test('a record re-serialised differently (whitespace) is not canonical', async () => {
    const edited = [...lines];
    edited[1] = JSON.stringify(parsed(1), null, 1).replace(/\n/g, '');
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      firstBroken: { seq: 2, line: 2, reason: BREAK_REASONS.notCanonical },
    });
  });

  test('a record with an extra field (a PIN), even re-hashed, does not have the record shape', async () => {
    const edited = [...lines];
    edited[4] = forge({ ...parsed(4), pin: '1234' });
    await expect(verdictAfter(edited)).resolves.toMatchObject({
      firstBroken: { seq: 5, line: 5, reason: BREAK_REASONS.shape },
    });
  });

  test('a line that is not UTF-8 JSON is broken', async () => {
    await writeFile(path, `${lines[0] ?? ''}\n\xff\xfe garbage\n`, 'latin1');
    await expect(verifyAuditLog(path)).resolves.toMatchObject({
      firstBroken: { seq: 2, line: 2, reason: BREAK_REASONS.notJson },
    });
  });

  test('an empty line in the middle is broken', async () => {
    await expect(
      verdictAfter([...lines.slice(0, 2), '', ...lines.slice(2)]),
    ).resolves.toMatchObject({
      firstBroken: { seq: 3, line: 3, reason: BREAK_REASONS.notJson },
    });
  });

  test('a run of bytes longer than any record is broken, not buffered', async () => {
    await writeFile(path, `${lines[0] ?? ''}\n${'x'.repeat(1024 * 1024 + 1)}`);
    await expect(verifyAuditLog(path)).resolves.toMatchObject({
      ok: false,
      firstBroken: { line: 2, reason: BREAK_REASONS.tooLong },
    });
  });

  test('a torn last line is reported but is not a break', async () => {
    await writeFile(path, `${lines.join('\n')}\n${(lines[0] ?? '').slice(0, 10)}`);
    await expect(verifyAuditLog(path)).resolves.toMatchObject({
      ok: true,
      records: 6,
      tornTail: true,
    });
  });

  test('removing the last records cannot show in the chain, only in a changed head (anchor it)', async () => {
    const before = await verifyAuditLog(path);
    const after = await verdictAfter(lines.slice(0, 4));
    expect(after.ok).toBe(true);
    expect(after.head).not.toBe(before.head);
  });

  test('a missing file is a read error', async () => {
    await expect(verifyAuditLog(`${path}.missing`)).rejects.toMatchObject({
      code: 'ERR_AUDIT_READ_FAILED',
    });
  });
});
