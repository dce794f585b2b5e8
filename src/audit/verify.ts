/**
 * `verifyAuditLog`: checks a whole audit log without taking its lock (read only), so it can run while the
 * agent appends. The rules are those of `scan.ts`.
 *
 * A torn last line is reported (`tornTail: true`) but does not make the log fail: it is the expected trace of a
 * crash in the middle of a write, that write was never acknowledged, and the next `openAuditLog` repairs it.
 * (While the agent is writing, a verify can also see a line that is half written.)
 *
 * What a hash chain without a key cannot show: removal of the last records, and a chain rewritten from some
 * record to the end. `head` (the hash of the last record) is returned so that it can be anchored elsewhere
 * (a ticket, a second host); a later verify whose chain no longer contains that head shows either.
 */
import { open } from 'node:fs/promises';
import { auditError } from './errors.js';
import { scanAuditLog } from './scan.js';
import type { BrokenRecord } from './scan.js';

/** The outcome of {@link verifyAuditLog}. */
export interface AuditVerifyResult {
  readonly ok: boolean;
  /** Whole records that verify (before the first broken one, if any). */
  readonly records: number;
  /** Hex SHA-256 of the last record that verifies (the genesis value for an empty log). */
  readonly head: string;
  readonly firstBroken?: BrokenRecord;
  readonly tornTail?: boolean;
}

/**
 * Checks every record of the log at `path`: shape, canonical form, hash, sequence and link to the previous
 * record, and names the first broken one. Throws `ERR_AUDIT_READ_FAILED` when the file cannot be read.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog('/home/alice/.local/state/rxsign/audit.log');
 * if (!result.ok) report(result.firstBroken); // { seq: 42, line: 42, reason: 'record hash does not match…' }
 * ```
 */
export async function verifyAuditLog(path: string): Promise<AuditVerifyResult> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw auditError('ERR_AUDIT_READ_FAILED', { cause: err, detail: { path } });
  }
  try {
    const scan = await scanAuditLog(fh);
    if (scan.firstBroken !== undefined) {
      return { ok: false, records: scan.records, head: scan.head, firstBroken: scan.firstBroken };
    }
    return {
      ok: true,
      records: scan.records,
      head: scan.head,
      tornTail: scan.tornBytes !== undefined,
    };
  } catch (err) {
    throw auditError('ERR_AUDIT_READ_FAILED', { cause: err, detail: { path } });
  } finally {
    await fh.close();
  }
}
