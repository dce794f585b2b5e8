// kill -9 during appends: every acknowledged record is in the log, and the log verifies.
//
// The child must run the real src/audit code without a TypeScript loader (no tsx, no vite-node, and Node 20
// cannot strip types). So the test transpiles the module graph of src/audit (which imports only node builtins
// and src/errors.ts) with typescript's transpileModule into a temp folder, keeping the layout so the `.js`
// imports resolve, and the child imports it from there.
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { readLines, signedEntry, tempDir } from './fixtures.js';

const root = join(import.meta.dirname, '..', '..');
let dir: string;
let cleanup: () => Promise<void>;
let childScript: string;

async function transpile(relative: string, outRoot: string): Promise<void> {
  const source = await readFile(join(root, relative), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
    fileName: relative,
  });
  await writeFile(join(outRoot, relative.replace(/\.ts$/, '.js')), outputText);
}

const CHILD = `
const [, , modulePath, logPath, entryJson] = process.argv;
const { openAuditLog } = await import(modulePath);
const log = await openAuditLog(logPath);
const entry = JSON.parse(entryJson);
process.stdout.write('ready\\n');
async function worker(w) {
  for (let i = 0; ; i += 1) {
    const batch = Array.from({ length: 1 + ((i * 7 + w) % 12) }, () => entry);
    const records = await log.append(batch);
    process.stdout.write(records.map((r) => 'ack ' + r.seq + ' ' + r.hash + '\\n').join(''));
  }
}
await Promise.all([worker(0), worker(1), worker(2)]);
`;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const out = join(dir, 'compiled');
  await mkdir(join(out, 'src', 'audit'), { recursive: true });
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  const files = (await readdir(join(root, 'src', 'audit'))).filter((f) => f.endsWith('.ts'));
  await Promise.all([
    ...files.map((f) => transpile(join('src', 'audit', f), out)),
    transpile(join('src', 'errors.ts'), out),
  ]);
  childScript = join(out, 'child.mjs');
  await writeFile(childScript, CHILD);
});

afterAll(() => cleanup());

/** Runs the child, kills it with SIGKILL `delayMs` after it is ready, and returns the acknowledged records. */
function runAndKill(logPath: string, delayMs: number): Promise<Map<number, string>> {
  const modulePath = join(dir, 'compiled', 'src', 'audit', 'log.js');
  const child = spawn(
    process.execPath,
    [childScript, modulePath, logPath, JSON.stringify(signedEntry(1))],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    const wasReady = out.includes('ready\n');
    out += s;
    if (!wasReady && out.includes('ready\n')) {
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve, reject) => {
    // 'close': the child is reaped and its pipes are drained, so its pid is dead and every ack is read.
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`child ended without being killed: ${err.slice(0, 500)}`));
        return;
      }
      const acks = new Map<number, string>();
      for (const m of out.matchAll(/^ack (\d+) ([0-9a-f]{64})$/gm)) {
        acks.set(Number(m[1]), m[2] ?? '');
      }
      resolve(acks);
    });
  });
}

describe('kill -9 during appends', () => {
  test('every acknowledged record survives, the log verifies, and the next open continues the chain', async () => {
    const logPath = join(dir, 'state', 'audit.log');
    let acknowledged = 0;
    for (const delayMs of [0, 10, 40, 100, 25]) {
      const acks = await runAndKill(logPath, delayMs);
      acknowledged += acks.size;

      const verdict = await verifyAuditLog(logPath);
      expect(verdict.ok).toBe(true);
      // A torn last line (the kill landed mid-write) was never acknowledged: verification reports it and the
      // next open repairs it, so only the whole lines are records.
      const lines = await readLines(logPath);
      const whole = verdict.tornTail === true ? lines.slice(0, -1) : lines;
      const stored = new Map(
        whole.map((l) => {
          const r = JSON.parse(l) as { seq: number; hash: string };
          return [r.seq, r.hash] as const;
        }),
      );
      for (const [seq, hash] of acks) {
        expect(stored.get(seq), `acknowledged record ${seq}`).toBe(hash);
      }

      // The stale lock of the killed child is taken over; a torn tail (if any) is repaired.
      const log = await openAuditLog(logPath);
      const [next] = await log.append(signedEntry(2));
      await log.close();
      expect(next?.seq).toBe(verdict.records + (verdict.tornTail === true ? 2 : 1));
      await expect(verifyAuditLog(logPath)).resolves.toMatchObject({ ok: true, tornTail: false });
    }
    expect(acknowledged).toBeGreaterThan(0);
  }, 20_000);
});
