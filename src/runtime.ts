/**
 * The agent's private folders and secret files (docs/security.md "Who may call"):
 * - the runtime folder `$XDG_RUNTIME_DIR/rxsign/` (XDG Base Directory Specification) holds `api-key`, the
 *   agent's per-start bearer key, and `open.html`, the link to the agent page;
 * - a folder is used only when it is a real directory (lstat: never a symlink), owned by this user, with no
 *   group or other access (0700); anything else refuses to start with ERR_RUNTIME_DIR_UNSAFE: another OS user
 *   who pre-created the folder, or a symlink to a folder they read, must not receive the key;
 * - secret files are written atomically (a 0600 temporary file in the same folder, then rename) and read back
 *   only when they are regular files owned by this user with no group or other access.
 * The CLI runs the same checks before it reads the key (src/cli/client.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  constants as fsc,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { errorFactory, type ServiceError, type ErrorTable } from './errors.js';

export type RuntimeErrorCode = 'ERR_RUNTIME_DIR_UNSAFE' | 'ERR_SECRET_FILE_UNSAFE';

export const RUNTIME_ERRORS: ErrorTable<RuntimeErrorCode> = {
  ERR_RUNTIME_DIR_UNSAFE: {
    status: 500,
    message: 'the private folder is not safe to use',
    fix: 'The folder must be a real directory (not a symlink), owned by you, mode 0700: remove it or fix its owner and mode (chmod 700), then start again.',
  },
  ERR_SECRET_FILE_UNSAFE: {
    status: 500,
    message: 'a key file is not safe to use',
    fix: 'A key file must be a regular file (not a symlink) owned by you with mode 0600 (chmod 600).',
  },
};

const runtimeError = errorFactory(RUNTIME_ERRORS);

/** `detail.reason` of a folder or key file that is not there (the CLI's "the agent is not running"). */
export const MISSING = 'does not exist or cannot be read';

/**
 * A start-up error: the table's message; `detail.field` names the path and the reason (never a secret), which
 * the CLI prints beside it.
 */
function unsafe(code: RuntimeErrorCode, path: string, reason: string): ServiceError {
  return runtimeError(code, { detail: { path, reason, field: `${path} ${reason}` } });
}

function myUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** Throws ERR_RUNTIME_DIR_UNSAFE unless `path` is a directory (not a symlink) owned by us with mode 0700 or stricter. */
export function checkPrivateDir(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    throw unsafe('ERR_RUNTIME_DIR_UNSAFE', path, MISSING);
  }
  if (st.isSymbolicLink()) {
    throw unsafe('ERR_RUNTIME_DIR_UNSAFE', path, 'is a symbolic link');
  }
  if (!st.isDirectory()) {
    throw unsafe('ERR_RUNTIME_DIR_UNSAFE', path, 'is not a directory');
  }
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid) {
    throw unsafe('ERR_RUNTIME_DIR_UNSAFE', path, `owned by uid ${st.uid}, not ${uid}`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw unsafe(
      'ERR_RUNTIME_DIR_UNSAFE',
      path,
      `mode ${(st.mode & 0o777).toString(8)}: group or others have access`,
    );
  }
}

/**
 * Creates `path` (and missing parents) with mode 0700 when absent, then checks it (checkPrivateDir). An
 * existing folder is never chmod-ed or chown-ed: a folder someone else prepared is refused, not adopted.
 */
export function ensurePrivateDir(path: string): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw unsafe('ERR_RUNTIME_DIR_UNSAFE', path, 'cannot be created');
    }
  }
  checkPrivateDir(path);
  return path;
}

/** Writes `data` to `dir/name` atomically with mode 0600 (a fresh temporary file, fsync, rename). */
export function writeSecretFile(dir: string, name: string, data: string): string {
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return target;
}

/**
 * Reads a secret file after checking it is a regular file owned by us with no group or other access. The
 * checks are made on the open file (O_NOFOLLOW, then fstat), not on the path before it is read: a file swapped
 * for a symbolic link or another file between a check and the read is never the one read. O_NONBLOCK keeps a
 * FIFO put in its place from blocking the open; it is then refused as not a regular file.
 */
export function readSecretFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ELOOP') {
      throw unsafe('ERR_SECRET_FILE_UNSAFE', path, 'is a symbolic link');
    }
    throw unsafe('ERR_SECRET_FILE_UNSAFE', path, code === 'ENOENT' ? MISSING : 'cannot be opened');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw unsafe('ERR_SECRET_FILE_UNSAFE', path, 'is not a regular file');
    }
    const uid = myUid();
    if (uid !== undefined && st.uid !== uid) {
      throw unsafe('ERR_SECRET_FILE_UNSAFE', path, `owned by uid ${st.uid}, not ${uid}`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw unsafe(
        'ERR_SECRET_FILE_UNSAFE',
        path,
        `mode ${(st.mode & 0o777).toString(8)}: group or others have access`,
      );
    }
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}

/** A fresh random 256-bit key, base64url (43 characters). */
export function newKey(): string {
  return randomBytes(32).toString('base64url');
}
