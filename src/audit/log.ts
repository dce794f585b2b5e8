/**
 * The durable, tamper-evident signing audit log.
 *
 * Storage: an append-only JSON-lines file, one canonical record per line, each carrying the hash of the one
 * before. Why this rather than a database:
 * - durability needs exactly one `write` and one `fdatasync` per group of records, which a plain file gives
 *   with no dependency (no SQLite is installed, and its WAL would add a second file to keep consistent);
 * - the chain is checkable line by line with standard tools (`sha256sum`, `jq`), and the file can be copied,
 *   shipped and archived as is;
 * - appends never rewrite earlier bytes, so a crash can only damage the last line, and the only repair is to
 *   drop a torn last line (below).
 *
 * Rules:
 * - `append` resolves only after the records are written and `fdatasync`ed. The signing code awaits it before
 *   it returns a signature, so kill -9 at any instant cannot lose the record of a returned signature;
 * - appends are serialised through one queue: callers never interleave, and the chain never forks. While one
 *   `fdatasync` runs, the next callers queue up and are committed together by one `write` + one `fdatasync`
 *   (group commit); `append([...])` commits a whole batch that way too;
 * - after a failed write or fsync the failed append is rejected (`ERR_AUDIT_WRITE_FAILED`) and the file handle
 *   is never written again: after a failed fsync Linux may have dropped the dirty pages and cleared the error,
 *   so a retry could "succeed" on data that is not on disk (PostgreSQL's fsync lesson, 2018). The next append
 *   reopens the file, re-reads and re-checks the whole chain (and quarantines a torn tail) before it writes,
 *   so no restart is needed once the disk is healthy again. Whole records of the failed append that did reach
 *   the disk stay in the chain: they describe attempts whose caller was told the audit failed (no signature
 *   was returned), which loses nothing that was acknowledged;
 * - a free-space reserve: `ensureSpace()` (called by the signing service before any card operation) refuses
 *   with `ERR_AUDIT_DISK_FULL` while the log's file system has less than `reserveBytes` free for this user
 *   (statfs `bavail`), so that signing stops with a clear error before the disk is full, and the reserve is
 *   left for the records of the refusals. A reading far above the reserve (at least {@link ROOMY_BYTES} more)
 *   is reused for up to {@link SPACE_READING_MS}, less what this log has written since: a statfs per signature
 *   costs a thread-pool round trip on the signing path, and a disk with a gigabyte to spare cannot reach the
 *   reserve through this log within a second. Another process may fill it that fast; then the write fails
 *   with ENOSPC and the signature is not returned (the rule above), so nothing acknowledged is lost. Near the
 *   reserve, and after any refusal, every call reads the disk again;
 * - the folder is checked at open with lstat: a real folder (not a symlink), owned by this user, not group- or
 *   world-writable (`ERR_AUDIT_FOLDER_UNSAFE`), so that another OS user can neither swap the log nor its lock;
 * - one process per log (see `lock.ts`); the folder is created 0700 and the file is kept 0600, and the file
 *   is opened with O_NOFOLLOW;
 * - on open the whole chain is checked; a log that does not verify is not extended (`ERR_AUDIT_CORRUPT`);
 * - a torn last line (bytes after the last `\n`, from a crash in the middle of a write) was never
 *   acknowledged, so dropping it loses nothing that a caller was told is on disk. The bytes are kept in a
 *   quarantine file next to the log, the log is truncated to its last whole line, and a `repair` record that
 *   names the quarantine file and the hash of the bytes is appended, so the repair stays visible in the chain.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, statfs } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServiceError } from '../errors.js';
import { auditError } from './errors.js';
import { acquireLogLock } from './lock.js';
import { isAuditEntry, sealRecord, snapshotEntry } from './record.js';
import type { AuditBody, AuditEntry, AuditRecord } from './record.js';
import { scanAuditLog } from './scan.js';
import { quarantineTornTail, syncFolder, writeAll } from './durable.js';

/** An open audit log. */
export interface AuditLog {
  readonly path: string;
  /**
   * Appends one entry or a batch, in order, with one `fdatasync` for the whole batch. Resolves with the
   * stored records once they are on disk.
   */
  append(entries: AuditEntry | readonly AuditEntry[]): Promise<AuditRecord[]>;
  /**
   * Throws `ERR_AUDIT_DISK_FULL` when the log's file system has less free space than the reserve (signing
   * must not start), `ERR_AUDIT_CLOSED` after close.
   */
  ensureSpace(): Promise<void>;
  /** Commits what is queued, then closes the file and releases the lock. */
  close(): Promise<void>;
}

/** A free-space reading at least this far above the reserve may be reused (see the header). */
export const ROOMY_BYTES = 1024 * 1024 * 1024;
/** How long a roomy reading is reused, in ms of the monotonic clock. */
export const SPACE_READING_MS = 1000;

/** What `ensureSpace` reads of the file system: statfs(2)'s free blocks for this user and the block size. */
export type FreeSpaceReader = (folder: string) => Promise<{ bavail: number; bsize: number }>;

/** Default free-space reserve: 64 MiB. */
export const DEFAULT_AUDIT_RESERVE_BYTES = 64 * 1024 * 1024;

export interface OpenAuditLogOptions {
  /** The clock for each record's `time` (docs/style.md §32). */
  readonly now?: () => Date;
  /** Free space (bytes) below which `ensureSpace()` refuses; default {@link DEFAULT_AUDIT_RESERVE_BYTES}. */
  readonly reserveBytes?: number;
  /** statfs(2) (tests count the calls); default node:fs/promises statfs. */
  readonly statfs?: FreeSpaceReader;
  /** The monotonic clock in ms for reusing a free-space reading (tests); default performance.now. */
  readonly monotonicNow?: () => number;
}

interface Pending {
  readonly entries: readonly AuditBody[];
  readonly resolve: (records: AuditRecord[]) => void;
  readonly reject: (err: unknown) => void;
}

const OPEN_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

class FileAuditLog implements AuditLog {
  readonly path: string;
  #fh: FileHandle;
  readonly #release: () => Promise<void>;
  readonly #now: () => Date;
  readonly #reserveBytes: number;
  #seq: number;
  #head: string;
  #queue: Pending[] = [];
  #draining: Promise<void> | undefined;
  #failure: unknown;
  #closed = false;
  readonly #statfs: FreeSpaceReader;
  readonly #monotonic: () => number;
  /** The last roomy reading: when, how many bytes were free, and this log's bytes written by then. */
  #roomy: { at: number; free: number; written: number } | undefined;
  /** Bytes this log has written since it opened. */
  #written = 0;

  constructor(
    path: string,
    fh: FileHandle,
    release: () => Promise<void>,
    now: () => Date,
    seq: number,
    head: string,
    reserveBytes: number,
    statfsOf: FreeSpaceReader,
    monotonic: () => number,
  ) {
    this.#statfs = statfsOf;
    this.#monotonic = monotonic;
    this.path = path;
    this.#fh = fh;
    this.#release = release;
    this.#now = now;
    this.#reserveBytes = reserveBytes;
    this.#seq = seq;
    this.#head = head;
  }

  append(entries: AuditEntry | readonly AuditEntry[]): Promise<AuditRecord[]> {
    if (this.#closed) {
      return Promise.reject(auditError('ERR_AUDIT_CLOSED'));
    }
    const list: readonly unknown[] = Array.isArray(entries) ? entries : [entries];
    const copies: AuditEntry[] = [];
    for (const [index, entry] of list.entries()) {
      if (!isAuditEntry(entry)) {
        // No echo of the entry: it is exactly what might carry a secret.
        return Promise.reject(auditError('ERR_AUDIT_ENTRY_INVALID', { detail: { index } }));
      }
      copies.push(snapshotEntry(entry));
    }
    return this.enqueue(copies);
  }

  async ensureSpace(): Promise<void> {
    if (this.#closed) {
      throw auditError('ERR_AUDIT_CLOSED');
    }
    const t = this.#monotonic();
    const last = this.#roomy;
    if (
      last !== undefined &&
      t - last.at < SPACE_READING_MS &&
      last.free - (this.#written - last.written) - this.#reserveBytes >= ROOMY_BYTES
    ) {
      return;
    }
    this.#roomy = undefined;
    let free: number;
    try {
      const fs = await this.#statfs(dirname(this.path));
      free = fs.bavail * fs.bsize;
    } catch (cause) {
      throw auditError('ERR_AUDIT_WRITE_FAILED', {
        cause,
        detail: { step: 'statfs' },
      });
    }
    if (free < this.#reserveBytes) {
      throw auditError('ERR_AUDIT_DISK_FULL', {
        detail: { freeBytes: free, reserveBytes: this.#reserveBytes },
      });
    }
    if (free - this.#reserveBytes >= ROOMY_BYTES) {
      this.#roomy = { at: t, free, written: this.#written };
    }
  }

  /** Queues bodies that are already checked (also the log's own `repair` records). */
  enqueue(entries: readonly AuditBody[]): Promise<AuditRecord[]> {
    if (entries.length === 0) {
      return Promise.resolve([]);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ entries, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      await this.#commit(this.#queue.splice(0));
    }
    // Cleared in the same tick as the last queue check, so an append can never be left waiting.
    this.#draining = undefined;
  }

  /**
   * After a failed write: a new file handle, the whole chain re-read and re-checked, a torn tail quarantined
   * (its `repair` record is returned, to be written first). The lock stays held throughout.
   */
  async #reopen(): Promise<AuditBody[]> {
    await this.#fh.close().catch(() => undefined);
    const { fh, scan } = await openChecked(this.path);
    let repairs: AuditBody[];
    try {
      repairs =
        scan.tornBytes === undefined
          ? []
          : [await quarantineTornTail(this.path, fh, scan.validEnd, scan.tornBytes)];
    } catch (err) {
      // Still failed (the disk is full, say): nothing appends after a torn tail; the next append retries.
      await fh.close().catch(() => undefined);
      throw err;
    }
    this.#fh = fh;
    this.#seq = scan.records;
    this.#head = scan.head;
    this.#failure = undefined;
    return repairs;
  }

  async #commit(group: readonly Pending[]): Promise<void> {
    let repairs: AuditBody[] = [];
    if (this.#failure !== undefined) {
      try {
        repairs = await this.#reopen();
      } catch (err) {
        const failed =
          err instanceof ServiceError
            ? err
            : auditError('ERR_AUDIT_OPEN_FAILED', {
                cause: err,
                detail: { path: this.path },
              });
        group.forEach((p) => p.reject(failed));
        return;
      }
    }
    let seq = this.#seq;
    let prev = this.#head;
    const lines: string[] = [];
    const results: AuditRecord[][] = [];
    try {
      const time = this.#now().toISOString();
      for (const entry of repairs) {
        seq += 1;
        const { record, line } = sealRecord(entry, { seq, time, prev });
        prev = record.hash;
        lines.push(line);
      }
      for (const pending of group) {
        const records: AuditRecord[] = [];
        for (const entry of pending.entries) {
          seq += 1;
          const { record, line } = sealRecord(entry, { seq, time, prev });
          prev = record.hash;
          records.push(record);
          lines.push(line);
        }
        results.push(records);
      }
    } catch (err) {
      // Nothing was written (a bad clock): the log stays usable.
      const failed = auditError('ERR_AUDIT_WRITE_FAILED', { cause: err });
      group.forEach((p) => p.reject(failed));
      return;
    }
    try {
      const bytes = Buffer.from(lines.join(''), 'utf8');
      this.#written += bytes.length;
      await writeAll(this.#fh, bytes);
      await this.#fh.datasync();
    } catch (err) {
      this.#failure = err;
      const failed = auditError('ERR_AUDIT_WRITE_FAILED', { cause: err });
      group.forEach((p) => p.reject(failed));
      return;
    }
    this.#seq = seq;
    this.#head = prev;
    group.forEach((p, i) => p.resolve(results[i] ?? []));
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#draining;
    try {
      // After a failed reopen the handle may be closed already.
      await this.#fh.close().catch(() => undefined);
    } finally {
      await this.#release();
    }
  }
}

/**
 * Opens (or creates) the audit log at `path`: takes the lock, checks the whole chain, repairs a torn last line,
 * and returns the log ready for appends.
 *
 * Throws `ERR_AUDIT_LOCKED` (another live process holds it), `ERR_AUDIT_CORRUPT` (the chain is broken; detail
 * has `seq`, `line`, `reason`) or `ERR_AUDIT_OPEN_FAILED`.
 *
 * @example
 * ```ts
 * const audit = await openAuditLog('/home/alice/.local/state/rxsign/audit.log');
 * const [record] = await audit.append({ kind: 'sign', outcome: 'signed', … });
 * // only now may the signature be returned
 * await audit.close();
 * ```
 */
export async function openAuditLog(
  path: string,
  options: OpenAuditLogOptions = {},
): Promise<AuditLog> {
  const now = options.now ?? (() => new Date());
  const folder = dirname(path);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw auditError('ERR_AUDIT_OPEN_FAILED', { cause: err, detail: { path } });
  }
  await checkFolder(folder);
  const release = await acquireLogLock(path);
  let fh: FileHandle | undefined;
  try {
    const opened = await openChecked(path);
    fh = opened.fh;
    const { scan } = opened;
    const log = new FileAuditLog(
      path,
      fh,
      release,
      now,
      scan.records,
      scan.head,
      options.reserveBytes ?? DEFAULT_AUDIT_RESERVE_BYTES,
      options.statfs ?? ((folder) => statfs(folder)),
      options.monotonicNow ?? (() => performance.now()),
    );
    if (scan.tornBytes !== undefined) {
      await log.enqueue([await quarantineTornTail(path, fh, scan.validEnd, scan.tornBytes)]);
    }
    return log;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await release();
    if (err instanceof ServiceError) {
      throw err;
    }
    throw auditError('ERR_AUDIT_OPEN_FAILED', { cause: err, detail: { path } });
  }
}

/**
 * The audit folder must be a real folder (lstat: not a symlink), owned by this user, and writable by no one
 * else: another OS user who could write there could replace the log, its lock or a quarantine file.
 * Throws `ERR_AUDIT_FOLDER_UNSAFE` naming what is wrong (never fixes it silently: the folder may be shared).
 */
async function checkFolder(folder: string): Promise<void> {
  let st;
  try {
    st = await lstat(folder);
  } catch (err) {
    throw auditError('ERR_AUDIT_OPEN_FAILED', { cause: err, detail: { folder } });
  }
  const uid = process.getuid?.();
  const problem = st.isSymbolicLink()
    ? 'is a symbolic link'
    : !st.isDirectory()
      ? 'is not a folder'
      : uid !== undefined && st.uid !== uid
        ? `is owned by uid ${st.uid}, not by this user (uid ${uid})`
        : (st.mode & 0o022) !== 0
          ? `is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`
          : undefined;
  if (problem !== undefined) {
    throw auditError('ERR_AUDIT_FOLDER_UNSAFE', { detail: { folder, problem } });
  }
}

/** Opens the log file (O_NOFOLLOW, 0600), fsyncs its folder and checks the whole chain. */
async function openChecked(
  path: string,
): Promise<{ fh: FileHandle; scan: Awaited<ReturnType<typeof scanAuditLog>> }> {
  const fh = await open(path, OPEN_FLAGS, 0o600);
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new Error('the audit log path is not a regular file');
    }
    if ((st.mode & 0o077) !== 0) {
      await fh.chmod(0o600);
    }
    await syncFolder(dirname(path));
    const scan = await scanAuditLog(fh);
    if (scan.firstBroken !== undefined) {
      throw auditError('ERR_AUDIT_CORRUPT', { detail: { path, ...scan.firstBroken } });
    }
    return { fh, scan };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}
