// Shared fixtures of the audit suites: a temp folder per test and well-formed entries.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SignAttemptEntry } from '../../src/audit/record.js';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rxsign-audit-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function signedEntry(n = 1, overrides: Partial<SignAttemptEntry> = {}): SignAttemptEntry {
  return {
    kind: 'sign',
    client: 'https://ehr.example.nhs.uk',
    cardSerial: '0123456789AB',
    uid: '555000000001',
    role: '555000000001001',
    certSerial: '4F2A91',
    algorithm: 'RSA-SHA256',
    payloadSha256: [sha256(`payload ${n}`)],
    documentIds: [`prescription-${n}`],
    outcome: 'signed',
    errorCode: null,
    ...overrides,
  };
}

export function refusedEntry(n = 1): SignAttemptEntry {
  return signedEntry(n, {
    outcome: 'refused',
    errorCode: 'ERR_PKCS11_PIN_INCORRECT',
    certSerial: null,
    payloadSha256: [],
  });
}

export async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l !== '');
}

export async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, lines.map((l) => `${l}\n`).join(''));
}

/** A copy of `value` without `key`. */
export function omit(value: object, key: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value };
  delete copy[key];
  return copy;
}
