/**
 * The one pass over a log that both `verifyAuditLog` and `openAuditLog` use.
 *
 * Rules, checked line by line in this order, stopping at the first line that breaks one:
 * 1. the line is strict UTF-8 (WHATWG Encoding `fatal`) JSON, at most {@link MAX_LINE_BYTES};
 * 2. it has the record shape, and no other field;
 * 3. its bytes are the canonical form of what it says (an edit that re-serialises differently is an edit);
 * 4. `hash` is the SHA-256 of the record without `hash` (an edited field shows here);
 * 5. `seq` is one more than the previous record's, and 1 on line 1 (deletions, insertions, moves);
 * 6. `prev` is the previous record's `hash`, and {@link GENESIS_PREV} on line 1.
 *
 * Bytes after the last `\n` are a torn tail: every append writes whole lines, so only a crash in the middle of a
 * write leaves them, and that write was never acknowledged. They are reported, not counted as a break.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  GENESIS_PREV,
  MAX_LINE_BYTES,
  canonicalJson,
  isAuditRecordShape,
  recordHash,
} from './record.js';

/** The first record that breaks the chain: its (claimed, else expected) `seq`, its 1-based line and why. */
export interface BrokenRecord {
  readonly seq: number;
  readonly line: number;
  readonly reason: string;
}

export interface ScanResult {
  /** Whole, valid records before the first break (all of them when there is none). */
  readonly records: number;
  /** `hash` of the last valid record, {@link GENESIS_PREV} when there is none. */
  readonly head: string;
  /** Byte offset just after the last valid line. */
  readonly validEnd: number;
  readonly firstBroken?: BrokenRecord;
  /** Length of the bytes after the last `\n`, when there are any (and no break came first). */
  readonly tornBytes?: number;
}

/** Fixed reasons: they name the rule, never the content of the line. */
export const BREAK_REASONS = Object.freeze({
  tooLong: 'line is longer than any record can be',
  notJson: 'line is not UTF-8 JSON',
  shape: 'record does not have the audit record shape (missing, unknown or invalid fields)',
  notCanonical: 'record is not in canonical form (edited)',
  hash: 'record hash does not match its content (edited)',
  genesis: 'first record is not the genesis record (seq 1, prev 000…0)',
  seq: 'sequence number out of order (a record was deleted, inserted or moved)',
  prev: 'prev does not match the hash of the previous record',
});

const CHUNK = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type LineVerdict =
  { ok: true; seq: number; hash: string } | { ok: false; seq?: number; reason: string };

function checkLine(bytes: Buffer, expectedSeq: number, head: string): LineVerdict {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return { ok: false, reason: BREAK_REASONS.notJson };
  }
  if (!isAuditRecordShape(value)) {
    return { ok: false, reason: BREAK_REASONS.shape };
  }
  const seq = value.seq;
  if (canonicalJson(value) !== bytes.toString('utf8')) {
    return { ok: false, seq, reason: BREAK_REASONS.notCanonical };
  }
  if (recordHash(value) !== value.hash) {
    return { ok: false, seq, reason: BREAK_REASONS.hash };
  }
  if (expectedSeq === 1 && (seq !== 1 || value.prev !== GENESIS_PREV)) {
    return { ok: false, seq, reason: BREAK_REASONS.genesis };
  }
  if (seq !== expectedSeq) {
    return { ok: false, seq, reason: BREAK_REASONS.seq };
  }
  if (value.prev !== head) {
    return { ok: false, seq, reason: BREAK_REASONS.prev };
  }
  return { ok: true, seq, hash: value.hash };
}

/**
 * Reads the log from the start and checks the chain. Throws only what the file handle throws.
 *
 * @example
 * ```ts
 * const { records, firstBroken, tornBytes } = await scanAuditLog(fh);
 * ```
 */
export async function scanAuditLog(fh: FileHandle): Promise<ScanResult> {
  let records = 0;
  let head = GENESIS_PREV;
  let validEnd = 0;
  let position = 0;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  const chunk = Buffer.allocUnsafe(CHUNK);

  for (;;) {
    const { bytesRead } = await fh.read(chunk, 0, CHUNK, position);
    if (bytesRead === 0) {
      break;
    }
    const data = chunk.subarray(0, bytesRead);
    let from = 0;
    while (from < bytesRead) {
      const nl = data.indexOf(0x0a, from);
      const end = nl === -1 ? bytesRead : nl;
      pending.push(Buffer.from(data.subarray(from, end)));
      pendingLength += end - from;
      if (pendingLength > MAX_LINE_BYTES) {
        return {
          records,
          head,
          validEnd,
          firstBroken: { seq: records + 1, line: records + 1, reason: BREAK_REASONS.tooLong },
        };
      }
      if (end === bytesRead) {
        break;
      }
      const line = Buffer.concat(pending, pendingLength);
      pending = [];
      pendingLength = 0;
      const verdict = checkLine(line, records + 1, head);
      if (!verdict.ok) {
        return {
          records,
          head,
          validEnd,
          firstBroken: {
            seq: verdict.seq ?? records + 1,
            line: records + 1,
            reason: verdict.reason,
          },
        };
      }
      records += 1;
      head = verdict.hash;
      validEnd = position + nl + 1;
      from = nl + 1;
    }
    position += bytesRead;
  }
  return pendingLength > 0
    ? { records, head, validEnd, tornBytes: pendingLength }
    : { records, head, validEnd };
}
