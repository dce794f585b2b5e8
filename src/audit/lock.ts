/**
 * The lock that keeps one writer per log, so that two agents can never fork the chain.
 *
 * Rules:
 * - the lock is `<log>.lock`, created with O_CREAT|O_EXCL (mode 0600) and holding the owner's pid;
 * - a lock whose pid is alive (including our own pid: a second open in the same process) is held;
 * - a lock whose pid is dead (ESRCH) is stale and is taken over, so that kill -9 does not need a human;
 * - an empty or unreadable lock is being written right now, or was left by a crash between create and write:
 *   it is held while younger than {@link EMPTY_LOCK_GRACE_MS}, stale after.
 *
 * Known limits, acceptable for a per-user agent on one host: pids are per PID namespace (do not share a log
 * between containers), a dead owner's pid can be reused by an unrelated process (the error then says to remove
 * the lock by hand), and two processes taking over the same stale lock at the same instant can race between
 * the check and the unlink (the window is a few microseconds at agent start).
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { auditError } from './errors.js';

const EMPTY_LOCK_GRACE_MS = 5_000;

function errnoCode(err: unknown): unknown {
  return err instanceof Error && 'code' in err ? err.code : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(err) !== 'ESRCH';
  }
}

async function readPid(lockPath: string): Promise<number | undefined | 'gone'> {
  try {
    const text = await readFile(lockPath, 'utf8');
    const match = /^(\d{1,10})\n$/.exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      return 'gone';
    }
    throw err;
  }
}

async function isStale(lockPath: string, pid: number | undefined): Promise<boolean> {
  if (pid !== undefined) {
    return !isAlive(pid);
  }
  const { mtimeMs } = await stat(lockPath);
  return Date.now() - mtimeMs > EMPTY_LOCK_GRACE_MS;
}

/**
 * Takes the lock of the log at `logPath` and returns the function that releases it.
 * Throws `ERR_AUDIT_LOCKED` when a live process holds it, `ERR_AUDIT_OPEN_FAILED` on an I/O error.
 *
 * @example
 * ```ts
 * const release = await acquireLogLock('/var/lib/rxsign/audit.log');
 * try { … } finally { await release(); }
 * ```
 */
export async function acquireLogLock(logPath: string): Promise<() => Promise<void>> {
  const lockPath = `${logPath}.lock`;
  const mine = `${process.pid}\n`;
  try {
    // Two rounds: the second one follows the removal of a stale lock.
    for (let round = 0; round < 2; round += 1) {
      let fh;
      try {
        fh = await open(lockPath, 'wx', 0o600);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') {
          throw err;
        }
        const pid = await readPid(lockPath);
        if (pid === 'gone') {
          continue;
        }
        if (!(await isStale(lockPath, pid))) {
          throw auditError('ERR_AUDIT_LOCKED', { detail: { lockPath, pid } });
        }
        // Remove it only if it still is the stale lock we looked at.
        if ((await readPid(lockPath)) === pid) {
          await unlink(lockPath).catch(() => undefined);
        }
        continue;
      }
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return async () => {
        if ((await readPid(lockPath).catch(() => undefined)) === process.pid) {
          await unlink(lockPath).catch(() => undefined);
        }
      };
    }
  } catch (err) {
    if (errnoCode(err) === 'ERR_AUDIT_LOCKED') {
      throw err;
    }
    throw auditError('ERR_AUDIT_OPEN_FAILED', { cause: err, detail: { lockPath } });
  }
  throw auditError('ERR_AUDIT_LOCKED', { detail: { lockPath } });
}
