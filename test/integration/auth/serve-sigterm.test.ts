// `rxsign serve` as a process (how systemd runs it): logged in with the SoftHSM card at the Spine simulator,
// SIGTERM ends the broker session (the simulator sees the logout), closes the module and exits 0.
// (The "within 2 s" is a target, not asserted: the test only gives the exit a generous timeout.)
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { startSim } from './helpers.js';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'rxsign.js');

describe('rxsign serve and SIGTERM', () => {
  let sim: RunningSpineSim;

  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.close();
  });

  test('SIGTERM logs out at the broker and the process exits 0', async () => {
    const home = mkdtempSync(join(tmpdir(), 'rxsign-serve-'));
    const env = {
      ...process.env,
      RXSIGN_MODULE: softhsmModule(),
      RXSIGN_TOKEN: 'prescriber',
      RXSIGN_SSB_URL: sim.url,
      RXSIGN_PORT: '0',
      RXSIGN_POLL_MS: '200',
      RXSIGN_LOG_LEVEL: 'silent',
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_STATE_HOME: join(home, 'state'),
      XDG_RUNTIME_DIR: join(home, 'run'),
      RXSIGN_AUDIT_LOG: join(home, 'audit.log'),
      RXSIGN_PIN: '',
    };
    const child = spawn(process.execPath, [cli, 'serve'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m?.[1]) {
            resolveUrl(m[1]);
          }
        });
        child.on('exit', () => reject(new Error(`serve exited early: ${err}`)));
      });
      await run(process.execPath, [cli, 'login', '--agent', url], {
        env: { ...env, RXSIGN_PIN: testCard('prescriber').pin },
      });
      expect(sim.admin.sessions().map((s) => s.uid)).toEqual([testCard('prescriber').uid]);

      const t0 = performance.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      if (process.env.RXSIGN_TEST_REPORT_TIMES === '1') {
        process.stderr.write(
          `serve exit after SIGTERM: ${Math.round(performance.now() - t0)} ms\n`,
        );
      }
      expect(sim.admin.sessions()).toEqual([]);
      expect(err).toBe('');
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
