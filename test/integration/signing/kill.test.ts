// SIGKILL during EPS batches (signing issue §6): a child signing through the compiled dist code is killed with
// SIGKILL; the audit log must still verify, and every signature the child printed must be recorded as signed
// (the record is appended and fsynced before a signature is returned). Needs `npx tsc -p tsconfig.build.json`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { verifyAuditLog, type AuditRecord } from '../../../src/audit/index.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';

const dist = join(import.meta.dirname, '..', '..', '..', 'dist', 'src', 'signing', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'rxsign-kill-sign-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(dist))(
  'kill -9 during a batch (skipped: run npx tsc -p tsconfig.build.json first)',
  () => {
    test('the audit log verifies and holds every signature the child printed', async () => {
      const card = testCard('prescriber');
      const auditPath = join(dir, 'audit.log');
      const child = spawn(
        process.execPath,
        [
          join(import.meta.dirname, 'fixtures', 'kill-child.mjs'),
          softhsmModule(),
          card.label,
          auditPath,
        ],
        {
          env: { ...process.env, RXSIGN_PIN: card.pin },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const started = Date.now();
      while (
        out.split('\n').length < 70 &&
        Date.now() - started < 20_000 &&
        child.exitCode === null
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // Kill at a random moment inside a later batch.
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      child.kill('SIGKILL');
      await exited;
      expect(err).toBe('');
      const printed = out
        .split('\n')
        .filter((l) => /^b\d+-\d+ [A-Za-z0-9+/=]+$/.test(l))
        .map((l) => l.split(' ')[0] ?? '');
      expect(printed.length).toBeGreaterThanOrEqual(60);

      const v = await verifyAuditLog(auditPath);
      expect(v.ok).toBe(true);
      const lines = readFileSync(auditPath, 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      const signed = new Set(
        lines
          .map((l) => JSON.parse(l) as AuditRecord)
          .filter((r) => r.kind === 'sign' && r.outcome === 'signed')
          .flatMap((r) => (r.kind === 'sign' ? r.documentIds : [])),
      );
      expect(printed.filter((id) => !signed.has(id))).toEqual([]);
    });
  },
);
