/**
 * The file-system steps that make the audit log durable, each with the reason it is needed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RepairEntry } from './record.js';

/**
 * fsyncs a folder: a new file's name is durable only once its folder is fsynced (fsync(2), "NOTES").
 *
 * @example
 * ```ts
 * await syncFolder(dirname(logPath));
 * ```
 */
export async function syncFolder(folder: string): Promise<void> {
  const dir = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Writes all of `bytes` to a file opened with O_APPEND, continuing after a short write.
 *
 * @example
 * ```ts
 * await writeAll(fh, Buffer.from(lines.join(''), 'utf8'));
 * await fh.datasync();
 * ```
 */
export async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Moves a torn last line out of the log: copies the bytes after `validEnd` to `<log>.torn-<random>` (0600,
 * fsynced, folder fsynced), and only then truncates the log to `validEnd` and fdatasyncs it. Returns the
 * `repair` entry that the caller appends, so the repair is visible in the chain. A crash between the truncate
 * and that append leaves a log that verifies and a quarantine file with no record: nothing is lost.
 *
 * @example
 * ```ts
 * await log.enqueue([await quarantineTornTail(path, fh, scan.validEnd, scan.tornBytes)]);
 * ```
 */
export async function quarantineTornTail(
  logPath: string,
  fh: FileHandle,
  validEnd: number,
  tornBytes: number,
): Promise<RepairEntry> {
  const torn = Buffer.alloc(tornBytes);
  await fh.read(torn, 0, tornBytes, validEnd);
  const folder = dirname(logPath);
  const quarantine = `${basename(logPath)}.torn-${randomBytes(6).toString('hex')}`;
  const q = await open(join(folder, quarantine), 'wx', 0o600);
  try {
    await q.writeFile(torn);
    await q.sync();
  } finally {
    await q.close();
  }
  await syncFolder(folder);
  await fh.truncate(validEnd);
  await fh.datasync();
  const droppedSha256 = createHash('sha256').update(torn).digest('hex');
  return {
    kind: 'repair',
    reason: 'torn-tail',
    droppedBytes: tornBytes,
    droppedSha256,
    quarantine,
  };
}
