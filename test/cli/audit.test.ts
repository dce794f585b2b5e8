import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { BREAK_REASONS, defaultAuditLogPath, openAuditLog } from '../../src/audit/index.js';
import { runAuditVerify } from '../../src/cli/audit.js';
import { readLines, signedEntry, tempDir, writeLines } from '../audit/fixtures.js';

let cleanup: () => Promise<void>;
let path: string;
let stdout: string;
let stderr: string;

beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'audit.log');
  const log = await openAuditLog(path);
  await log.append([signedEntry(1), signedEntry(2), signedEntry(3)]);
  await log.close();
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

async function breakRecord2(): Promise<void> {
  const lines = await readLines(path);
  lines[1] = (lines[1] ?? '').replace('prescription-2', 'prescription-X');
  await writeLines(path, lines);
}

describe('rxsign audit verify', () => {
  test('exit 0 and "audit log OK: N records" for a log that verifies', async () => {
    await expect(runAuditVerify(['--log', path], { defaultPath: '/nonexistent' })).resolves.toBe(0);
    expect(stdout).toBe('audit log OK: 3 records\n');
    expect(stderr).toBe('');
  });

  test('exit 1 and the first broken record, its line and the reason for a broken log', async () => {
    await breakRecord2();
    await expect(runAuditVerify(['--log', path], { defaultPath: '/nonexistent' })).resolves.toBe(1);
    expect(stdout).toBe(`audit log BROKEN at record 2 (line 2): ${BREAK_REASONS.hash}\n`);
  });

  test('uses the default path when --log is absent', async () => {
    await expect(runAuditVerify([], { defaultPath: path })).resolves.toBe(0);
    expect(stdout).toBe('audit log OK: 3 records\n');
  });

  test('--json prints one JSON object with the result', async () => {
    await expect(
      runAuditVerify(['--json', `--log=${path}`], { defaultPath: '/nonexistent' }),
    ).resolves.toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ path, ok: true, records: 3, tornTail: false });
  });

  test('--json names the first broken record', async () => {
    await breakRecord2();
    await expect(
      runAuditVerify(['--log', path, '--json'], { defaultPath: '/nonexistent' }),
    ).resolves.toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      ok: false,
      records: 1,
      firstBroken: { seq: 2, line: 2, reason: BREAK_REASONS.hash },
    });
  });

  test('exit 2 for a log that cannot be read', async () => {
    await expect(
      runAuditVerify(['--log', `${path}.missing`], { defaultPath: '/nonexistent' }),
    ).resolves.toBe(2);
    expect(stderr).toBe(`rxsign audit verify: cannot read ${path}.missing (ENOENT)\n`);
    expect(stdout).toBe('');
  });

  test('exit 2 with a JSON error for a log that cannot be read with --json', async () => {
    await expect(
      runAuditVerify(['--json', '--log', `${path}.missing`], { defaultPath: '/x' }),
    ).resolves.toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      path: `${path}.missing`,
      error: { code: 'ERR_AUDIT_READ_FAILED', cause: 'ENOENT' },
    });
  });

  test('exit 2 and the usage for an unknown option or a stray argument', async () => {
    await expect(runAuditVerify(['--fix'], { defaultPath: path })).resolves.toBe(2);
    expect(stderr).toContain('Usage: rxsign audit verify');
    stderr = '';
    await expect(runAuditVerify([path], { defaultPath: path })).resolves.toBe(2);
    expect(stderr).toContain('Usage: rxsign audit verify');
    stderr = '';
    await expect(runAuditVerify(['--log'], { defaultPath: path })).resolves.toBe(2);
    expect(stdout).toBe('');
  });

  test('--help prints the usage with the default path and exits 0', async () => {
    await expect(
      runAuditVerify(['--help'], { defaultPath: '/home/a/.local/state/rxsign/audit.log' }),
    ).resolves.toBe(0);
    expect(stdout).toContain('(default: /home/a/.local/state/rxsign/audit.log)');
    expect(stdout).toContain('Exit status: 0');
  });
});

describe('defaultAuditLogPath', () => {
  test('XDG Base Directory: $XDG_STATE_HOME/rxsign/audit.log', () => {
    expect(defaultAuditLogPath({ xdgStateHome: '/s', home: '/home/a' })).toBe(
      '/s/rxsign/audit.log',
    );
  });

  test('XDG Base Directory: unset or empty falls back to ~/.local/state', () => {
    expect(defaultAuditLogPath({ xdgStateHome: undefined, home: '/home/a' })).toBe(
      '/home/a/.local/state/rxsign/audit.log',
    );
    expect(defaultAuditLogPath({ xdgStateHome: '', home: '/home/a' })).toBe(
      '/home/a/.local/state/rxsign/audit.log',
    );
  });

  test('XDG Base Directory: a relative XDG_STATE_HOME is invalid and ignored', () => {
    expect(defaultAuditLogPath({ xdgStateHome: 'state', home: '/home/a' })).toBe(
      '/home/a/.local/state/rxsign/audit.log',
    );
  });
});
