/**
 * The signing service's audit plumbing: what one signing attempt's record holds, and the one append that
 * writes a call's records (docs/signing.md; the record format is src/audit/record.ts).
 *
 * Rules:
 * - a record holds only what it can hold: an id, client, UID or role that is not printable ASCII within the
 *   record's limits is left out (or `unknown`), never allowed to fail the append (they come from callers and
 *   from the Spine broker's reply, both untrusted);
 * - `outcome` is `signed`, or the `outcome` column of SIGN_ERRORS for the code (`refused` / `failed`); the
 *   token layer's card and module failures are `failed`, every other code `refused`;
 * - an append that fails becomes ERR_SIGN_AUDIT_FAILED: the caller then returns no signature;
 * - an error whose record is written is marked, so that it is never recorded twice.
 */
import type { AuditEntry, AuditLog, SignOutcome } from '../audit/index.js';
import { isServiceError } from '../errors.js';
import type { SigningKey } from './card-session.js';
import { SIGN_ERRORS, signError, type SignErrorCode } from './errors.js';
import type { SignCaller } from './service.js';

export const PRINTABLE_ID = /^[\x20-\x7e]{1,256}$/;

/**
 * `value` if the audit record can hold it (printable ASCII, 1..`max`: record.ts), else undefined. The UID and
 * role come from the Spine broker's reply (untrusted): one the record cannot hold must not fail every append.
 */
function storable(value: string | null | undefined, max: number): string | undefined {
  return typeof value === 'string' && value.length <= max && PRINTABLE_ID.test(value)
    ? value
    : undefined;
}

export function codeOf(err: unknown): string {
  return isServiceError(err) && /^ERR_[A-Z0-9_]{1,64}$/.test(err.code)
    ? err.code
    : 'ERR_SIGN_CARD_FAILED';
}

/**
 * The token layer's codes that mean the card or module broke (not a refusal): `failed` in the audit record,
 * like the `failed` rows of SIGN_ERRORS.
 */
const TOKEN_FAILURES: ReadonlySet<string> = new Set([
  'ERR_PKCS11_CARD_REMOVED',
  'ERR_PKCS11_DEVICE_ERROR',
  'ERR_PKCS11_INTERNAL',
  'ERR_PKCS11_MODULE_NOT_FOUND',
  'ERR_PKCS11_MODULE_LOAD_FAILED',
]);

/** The audit outcome of an attempt that ended with `code`: the `outcome` column of SIGN_ERRORS. */
function outcomeOf(code: string): SignOutcome {
  if (Object.hasOwn(SIGN_ERRORS, code)) {
    return SIGN_ERRORS[code as SignErrorCode].outcome;
  }
  return TOKEN_FAILURES.has(code) ? 'failed' : 'refused';
}

/** What one attempt's record says beyond the caller and the key. */
export interface AttemptFacts {
  readonly algorithm: string | null;
  readonly sha: readonly string[];
  readonly ids: readonly string[];
  /** null: signed. */
  readonly code: string | null;
  /** How many documents the one record stands for (recorded when more than one, at most 1000). */
  readonly items?: number;
}

/** The audit plumbing of one signing service. */
export interface AuditTrail {
  entry(caller: SignCaller, key: SigningKey | undefined, x: AttemptFacts): AuditEntry;
  /** Appends a call's records in one append; ERR_SIGN_AUDIT_FAILED if the log refuses. */
  record(entries: readonly AuditEntry[]): Promise<void>;
  /** Marks an error as recorded (wrapping a non-Error) and returns it, to throw. */
  markAudited(err: unknown): unknown;
  isAudited(err: unknown): boolean;
}

/**
 * The audit plumbing over one audit log.
 *
 * @example
 * ```ts
 * const trail = auditTrail(audit);
 * await trail.record([trail.entry(caller, key, { algorithm: 'RS256', sha, ids, code: null })]);
 * ```
 */
export function auditTrail(audit: AuditLog): AuditTrail {
  // Errors whose record is already written (so `guarded` does not write a second one).
  const audited = new WeakSet<Error>();
  const markAudited = (err: unknown): unknown => {
    const e = err instanceof Error ? err : signError('ERR_SIGN_CARD_FAILED', { cause: err });
    audited.add(e);
    return e;
  };

  const entry = (
    caller: SignCaller,
    key: SigningKey | undefined,
    x: {
      algorithm: string | null;
      sha: readonly string[];
      ids: readonly string[];
      code: string | null;
      items?: number;
    },
  ): AuditEntry => ({
    kind: 'sign',
    client: PRINTABLE_ID.test(caller.client) ? caller.client : 'unknown',
    cardSerial: key?.cardSerial ?? null,
    uid: storable(caller.uid, 64) ?? key?.uid ?? null,
    role: storable(caller.role, 128) ?? null,
    certSerial: key?.certificate.serialHex ?? null,
    algorithm: x.algorithm,
    payloadSha256: [...x.sha],
    documentIds: x.ids.filter((id) => PRINTABLE_ID.test(id)).slice(0, 1000),
    outcome: x.code === null ? 'signed' : outcomeOf(x.code),
    errorCode: x.code,
    ...(x.items !== undefined && x.items > 1 ? { items: Math.min(x.items, 1000) } : {}),
  });

  async function record(entries: readonly AuditEntry[]): Promise<void> {
    try {
      await audit.append(entries);
    } catch (cause) {
      throw signError('ERR_SIGN_AUDIT_FAILED', { cause });
    }
  }

  return {
    entry,
    record,
    markAudited,
    isAudited: (err) => err instanceof Error && audited.has(err),
  };
}
