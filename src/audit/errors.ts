/**
 * The audit folder's error codes. Every one of them means "no signature may be returned": the signing path
 * awaits the audit append before it answers, so an audit failure fails the request closed. None of them is a
 * client's fault, hence the 5xx statuses (the client sees `ERR_INTERNAL`; the code and detail go to the log).
 */
import type { ErrorTable } from '../errors.js';

export type AuditErrorCode =
  | 'ERR_AUDIT_OPEN_FAILED'
  | 'ERR_AUDIT_WRITE_FAILED'
  | 'ERR_AUDIT_READ_FAILED'
  | 'ERR_AUDIT_LOCKED'
  | 'ERR_AUDIT_CORRUPT'
  | 'ERR_AUDIT_CLOSED'
  | 'ERR_AUDIT_ENTRY_INVALID'
  | 'ERR_AUDIT_DISK_FULL'
  | 'ERR_AUDIT_FOLDER_UNSAFE';

/**
 * The audit folder's {@link ErrorTable}, merged into the service registry.
 *
 * @example
 * ```ts
 * throw fromTable(AUDIT_ERRORS, 'ERR_AUDIT_LOCKED', { detail: { pid } });
 * ```
 */
export const AUDIT_ERRORS: ErrorTable<AuditErrorCode> = Object.freeze({
  ERR_AUDIT_OPEN_FAILED: {
    status: 503,
    message: 'the signing audit log could not be opened',
    fix: 'Check that the audit log folder exists or can be created, belongs to the service user and is writable.',
  },
  ERR_AUDIT_WRITE_FAILED: {
    status: 503,
    message: 'the signing audit log could not be written',
    fix: 'Check free disk space and the health of the disk. No restart is needed: the next signing request reopens the log and re-checks the whole chain before it writes again.',
  },
  ERR_AUDIT_READ_FAILED: {
    status: 500,
    message: 'the signing audit log could not be read',
    fix: 'Check the path given to `rxsign audit verify --log` and its permissions.',
  },
  ERR_AUDIT_LOCKED: {
    status: 503,
    message: 'the signing audit log is held by another process',
    fix: 'Another rxsign agent is running with the same audit log; stop it. If none is running, the `<log>.lock` file names a live process that is not rxsign: remove the lock file.',
  },
  ERR_AUDIT_CORRUPT: {
    status: 503,
    message: 'the signing audit log does not verify',
    fix: 'Run `rxsign audit verify` to find the first broken record and investigate it as a security incident. Keep the file; move it aside to start a new log.',
  },
  ERR_AUDIT_CLOSED: {
    status: 503,
    message: 'the signing audit log is closed',
    fix: 'The agent is shutting down; retry after it has restarted.',
  },
  ERR_AUDIT_ENTRY_INVALID: {
    status: 500,
    message: 'the audit entry is not valid',
    fix: 'A defect in the caller: an audit entry has exactly the fields of `SignAttemptEntry`, within their limits.',
  },
  ERR_AUDIT_DISK_FULL: {
    status: 507,
    message:
      'the disk of the signing audit log is nearly full (below the free-space reserve): signing is refused',
    fix: 'Free space on the disk that holds the audit log; signing resumes by itself. The reserve is `RXSIGN_AUDIT_RESERVE_MB` (default 64 MiB).',
  },
  ERR_AUDIT_FOLDER_UNSAFE: {
    status: 503,
    message:
      'the audit log folder is not safe: a symbolic link, not owned by this user, or writable by others',
    fix: 'Use a folder owned by the service user with mode 0700 (`chmod 700 FOLDER`), not a symbolic link; the error detail names what is wrong.',
  },
});
