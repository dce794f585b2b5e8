/**
 * The audit record: its shape, its canonical bytes and its hash.
 *
 * Rules enforced here:
 * - a record has exactly the fields below and no others. Unknown fields are rejected, so a PIN, a ticket or a
 *   key cannot get into the log, even by spreading a request object into an entry: no field can hold one;
 * - every string is printable ASCII with a length limit, and hashes are lowercase hex SHA-256;
 * - `signed` needs a certificate serial, an algorithm and at least one payload hash, and no error code;
 *   `refused` and `failed` need an error code (`ERR_…`);
 * - canonical bytes are RFC 8785 (JCS) for the only JSON this shape allows (strings, safe integers, null,
 *   arrays, objects), followed by one `\n`;
 * - `hash` is SHA-256 over the canonical bytes of the record without `hash`. `prev` is the previous record's
 *   `hash`, or {@link GENESIS_PREV} for the first record (`seq` 1).
 */
import { createHash } from 'node:crypto';

/** `prev` of the first record (`seq` 1): a fixed value, so a log that lost its first records does not verify. */
export const GENESIS_PREV = '0'.repeat(64);

/**
 * Upper bound of one line. The field limits keep a valid record far below it (about 350 KiB at most), so a longer
 * run of bytes without a newline is damage, not a record.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/** What happened to one signing attempt. */
export type SignOutcome = 'signed' | 'refused' | 'failed';

/** One signing attempt, as the signing code reports it. Every field is required; `null` means "not known". */
export interface SignAttemptEntry {
  readonly kind: 'sign';
  /** The requesting client, for example the calling origin or API client id. */
  readonly client: string;
  readonly cardSerial: string | null;
  readonly uid: string | null;
  /** The selected role (role profile id), if one was selected. */
  readonly role: string | null;
  readonly certSerial: string | null;
  readonly algorithm: string | null;
  /** Lowercase hex SHA-256 of each signed payload, in signing order. */
  readonly payloadSha256: readonly string[];
  readonly documentIds: readonly string[];
  readonly outcome: SignOutcome;
  /** The `ERR_…` code of a refused or failed attempt; `null` when signed. */
  readonly errorCode: string | null;
  /**
   * How many items (EPS batch payloads) this record stands for, when more than one: a refused request, or the
   * items of a batch refused with the same code, is one record (not one per item). Absent means one item.
   */
  readonly items?: number;
}

/** Written by the log itself when it drops a torn final line on open (see `log.ts`). */
export interface RepairEntry {
  readonly kind: 'repair';
  readonly reason: 'torn-tail';
  readonly droppedBytes: number;
  readonly droppedSha256: string;
  /** File name (in the log's folder) that keeps the dropped bytes. */
  readonly quarantine: string;
}

/** What a caller may append. */
export type AuditEntry = SignAttemptEntry;
/** What the log may contain. */
export type AuditBody = SignAttemptEntry | RepairEntry;

/** The chain fields that the log adds to each entry. */
export interface ChainFields {
  readonly seq: number;
  /** ISO 8601 UTC time at which the record was written. */
  readonly time: string;
  readonly prev: string;
  readonly hash: string;
}

/** A record as stored: an entry plus its place in the chain. */
export type AuditRecord = (SignAttemptEntry & ChainFields) | (RepairEntry & ChainFields);

type Check = (value: unknown) => boolean;

const text =
  (max: number): Check =>
  (v) =>
    typeof v === 'string' && v.length >= 1 && v.length <= max && /^[\x20-\x7e]+$/.test(v);
const hex64: Check = (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const list =
  (check: Check, max: number): Check =>
  (v) =>
    Array.isArray(v) && v.length <= max && v.every(check);
const oneOf =
  (...values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const count: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const errorCode: Check = (v) => typeof v === 'string' && /^ERR_[A-Z0-9_]{1,64}$/.test(v);
// Only what Date#toISOString produces: fixed width, UTC.
const isoTime: Check = (v) =>
  typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v);

const SIGN_FIELDS: Readonly<Record<Exclude<keyof SignAttemptEntry, 'items'>, Check>> = {
  kind: oneOf('sign'),
  client: text(256),
  cardSerial: nullable(text(64)),
  uid: nullable(text(64)),
  role: nullable(text(128)),
  certSerial: nullable(text(128)),
  algorithm: nullable(text(64)),
  payloadSha256: list(hex64, 1000),
  documentIds: list(text(256), 1000),
  outcome: oneOf('signed', 'refused', 'failed'),
  errorCode: nullable(errorCode),
};

/** Fields a sign record may have (absent in records written before they existed). */
const SIGN_OPTIONAL: Readonly<Record<string, Check>> = {
  items: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 2 && v <= 1000,
};

const REPAIR_FIELDS: Readonly<Record<keyof RepairEntry, Check>> = {
  kind: oneOf('repair'),
  reason: oneOf('torn-tail'),
  droppedBytes: count,
  droppedSha256: hex64,
  quarantine: text(256),
};

const CHAIN_FIELDS: Readonly<Record<keyof ChainFields, Check>> = {
  seq: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1,
  time: isoTime,
  prev: hex64,
  hash: hex64,
};

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Exactly these keys (no more, no fewer, besides the `optional` ones present), each passing its check. */
function hasExactly(
  value: Readonly<Record<string, unknown>>,
  optional: Readonly<Record<string, Check>>,
  ...tables: readonly Readonly<Record<string, Check>>[]
): boolean {
  const keys = Object.keys(value);
  const present = Object.entries(optional).filter(([k]) => Object.hasOwn(value, k));
  const expected = tables.reduce((n, t) => n + Object.keys(t).length, present.length);
  if (keys.length !== expected || !present.every(([k, check]) => check(value[k]))) {
    return false;
  }
  return tables.every((t) =>
    Object.entries(t).every(([k, check]) => Object.hasOwn(value, k) && check(value[k])),
  );
}

function outcomeConsistent(v: Readonly<Record<string, unknown>>): boolean {
  if (v.outcome === 'signed') {
    return (
      v.errorCode === null &&
      v.certSerial !== null &&
      v.algorithm !== null &&
      Array.isArray(v.payloadSha256) &&
      v.payloadSha256.length > 0
    );
  }
  return v.errorCode !== null;
}

/**
 * True when `value` is a well-formed {@link AuditEntry} with no extra fields.
 *
 * @example
 * ```ts
 * if (!isAuditEntry(input)) throw fromTable(AUDIT_ERRORS, 'ERR_AUDIT_ENTRY_INVALID');
 * ```
 */
export function isAuditEntry(value: unknown): value is AuditEntry {
  return (
    isPlainObject(value) &&
    hasExactly(value, SIGN_OPTIONAL, SIGN_FIELDS) &&
    outcomeConsistent(value)
  );
}

/**
 * True when `value` has the shape of a stored {@link AuditRecord} (its hash and chain are not checked here).
 *
 * @example
 * ```ts
 * isAuditRecordShape(JSON.parse(line)); // false for a record with an extra `pin` field
 * ```
 */
export function isAuditRecordShape(value: unknown): value is AuditRecord {
  if (!isPlainObject(value)) {
    return false;
  }
  if (value.kind === 'sign') {
    return hasExactly(value, SIGN_OPTIONAL, SIGN_FIELDS, CHAIN_FIELDS) && outcomeConsistent(value);
  }
  return value.kind === 'repair' && hasExactly(value, {}, REPAIR_FIELDS, CHAIN_FIELDS);
}

/**
 * A fresh copy of an entry (arrays copied too), so that a caller mutating its object after `append` cannot
 * change what is written (docs/style.md §21).
 *
 * @example
 * ```ts
 * const mine = snapshotEntry(entry);
 * ```
 */
export function snapshotEntry(entry: AuditEntry): AuditEntry {
  return { ...entry, payloadSha256: [...entry.payloadSha256], documentIds: [...entry.documentIds] };
}

/**
 * RFC 8785 (JCS) serialisation for strings, safe integers, booleans, null, arrays and plain objects: object keys
 * sorted by UTF-16 code units (§3.2.3), no whitespace, strings and integers as ECMAScript `JSON.stringify`
 * writes them (§3.2.2). Anything else throws, because the record shape never contains it.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: ['x', null] }); // '{"a":["x",null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v: unknown) => canonicalJson(v)).join(',')}]`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  throw new TypeError('canonicalJson: value outside the audit record subset of JSON');
}

/**
 * Hex SHA-256 over the canonical bytes of a record without its `hash` field.
 *
 * @example
 * ```ts
 * const ok = recordHash(record) === record.hash;
 * ```
 */
export function recordHash(record: AuditBody & Omit<ChainFields, 'hash'>): string {
  const rest: Record<string, unknown> = { ...record };
  delete rest.hash;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/**
 * Places an entry in the chain: adds `seq`, `time`, `prev` and `hash`, and returns the record with its line
 * (canonical JSON and `\n`).
 *
 * @example
 * ```ts
 * const { record, line } = sealRecord(entry, { seq: 1, time: new Date().toISOString(), prev: GENESIS_PREV });
 * ```
 */
export function sealRecord(
  entry: AuditBody,
  chain: Omit<ChainFields, 'hash'>,
): { record: AuditRecord; line: string } {
  const unsealed = { ...entry, seq: chain.seq, time: chain.time, prev: chain.prev };
  const fields: Readonly<Record<string, unknown>> = unsealed;
  // One canonical pass (a batch of 250 EPS items seals 250 records): the sorted members of the record without
  // `hash` give the hash, and the line is the same members with `hash` at its sorted place (RFC 8785
  // §3.2.3; Array#sort and `>` both compare UTF-16 code units).
  const keys = Object.keys(fields).sort();
  const members = keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(fields[k])}`);
  const hash = createHash('sha256')
    .update(`{${members.join(',')}}`, 'utf8')
    .digest('hex');
  const at = keys.findIndex((k) => k > 'hash');
  members.splice(at === -1 ? keys.length : at, 0, `"hash":${JSON.stringify(hash)}`);
  const record: AuditRecord = { ...unsealed, hash };
  return { record, line: `{${members.join(',')}}\n` };
}
