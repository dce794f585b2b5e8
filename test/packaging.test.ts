// Packaging: the systemd user unit (packaging/rxsign.service) and `rxsign service install|uninstall`, and the
// Dockerfile's structure (there is no container engine in CI to build it: its rules are checked as text).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runService, unitText } from '../src/cli/service.js';
import { AGENT_NODE_FLAGS } from '../src/node-flags.js';

const root = resolve(import.meta.dirname, '..');

/** `[section] key=value` lines of a unit file (comments and blank lines dropped). */
function unitKeys(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1] ?? '';
      continue;
    }
    const i = line.indexOf('=');
    const key = `${section}.${line.slice(0, i)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(i + 1)]);
  }
  return out;
}

function capture(): {
  io: { out(t: string): void; err(t: string): void };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out, err };
}

describe('systemd user unit', () => {
  const text = readFileSync(join(root, 'packaging', 'rxsign.service'), 'utf8');
  const keys = unitKeys(text);

  test('runs rxsign serve, restarts on failure, hardened for a user unit, private files', () => {
    expect(keys.get('Service.Type')).toEqual(['exec']);
    expect(keys.get('Service.ExecStart')?.[0]).toMatch(/^\/\S+ serve$/);
    expect(keys.get('Service.Restart')).toEqual(['on-failure']);
    expect(keys.get('Service.UMask')).toEqual(['0077']);
    expect(keys.get('Service.NoNewPrivileges')).toEqual(['yes']);
    expect(keys.get('Service.PrivateTmp')).toEqual(['yes']);
    expect(keys.get('Service.ProtectSystem')).toEqual(['strict']);
    expect(keys.get('Service.ReadWritePaths')).toEqual(['%S/rxsign %t/rxsign']);
    expect(keys.get('Service.RuntimeDirectoryMode')).toEqual(['0700']);
    expect(keys.get('Install.WantedBy')).toEqual(['default.target']);
    // Node's JIT needs writable executable memory: this option would kill the agent at start.
    expect(keys.has('Service.MemoryDenyWriteExecute')).toBe(false);
  });

  test.skipIf(!existsSync('/usr/bin/systemd-analyze'))(
    'systemd-analyze verify accepts the installed unit with no unknown keys (skipped: no systemd-analyze)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'rxsign-unit-'));
      const file = join(dir, 'rxsign.service');
      writeFileSync(file, unitText(root));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(r.stderr).not.toMatch(/Unknown (key|section)|Invalid|bad-setting/i);
      // and the check sees a mistake (so it can fail)
      writeFileSync(file, unitText(root).replace('Restart=on-failure', 'Restrat=on-failure'));
      const bad = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(bad.stderr).toMatch(/Unknown key/i);
    },
  );

  test('install --dry-run prints the unit with this installation in ExecStart and writes nothing', async () => {
    const xdg = mkdtempSync(join(tmpdir(), 'rxsign-xdg-'));
    const c = capture();
    const code = await runService(['install', '--dry-run'], c.io, {
      XDG_CONFIG_HOME: xdg,
      PATH: '',
    });
    expect(code).toBe(0);
    const printed = c.out.join('\n');
    const path = join(xdg, 'systemd', 'user', 'rxsign.service');
    expect(printed).toContain(`would write ${path}`);
    expect(printed).toContain(
      `ExecStart=${process.execPath} ${AGENT_NODE_FLAGS.join(' ')} ${join(root, 'bin', 'rxsign.js')} serve`,
    );
    expect(printed).toContain('systemctl --user daemon-reload');
    expect(printed).toContain('systemctl --user enable --now rxsign.service');
    expect(existsSync(path)).toBe(false);
  });

  test('install without systemctl writes the unit (0644) and says what to run; uninstall removes it', async () => {
    const xdg = mkdtempSync(join(tmpdir(), 'rxsign-xdg-'));
    const env = { XDG_CONFIG_HOME: xdg, PATH: '' };
    const path = join(xdg, 'systemd', 'user', 'rxsign.service');
    const c = capture();
    expect(await runService(['install'], c.io, env)).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(unitText(root));
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(c.out.join('\n')).toContain('systemctl is not available here; run:');
    const u = capture();
    expect(await runService(['uninstall'], u.io, env)).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(u.out.join('\n')).toContain('systemctl --user disable --now rxsign.service');
  });

  test('a wrong action is a usage error', async () => {
    const c = capture();
    expect(await runService(['start'], c.io, { PATH: '' })).toBe(2);
    expect(c.err.join('')).toContain('usage: rxsign service install|uninstall');
  });
});

/** Dockerfile instructions, continuation lines joined, with the stage each belongs to. */
function dockerStages(text: string): { name: string; from: string; lines: string[] }[] {
  const joined = text.replace(/\\\n/g, ' ');
  const stages: { name: string; from: string; lines: string[] }[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      stages.push({ from: from[1] ?? '', name: from[2] ?? String(stages.length), lines: [] });
      continue;
    }
    stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe('Dockerfile', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const stages = dockerStages(text);
  const final = stages.at(-1);
  const finalText = final?.lines.join('\n') ?? '';

  test('multi-stage: a build stage with the compilers, a final stage without them', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.lines.join('\n')).toMatch(/apt-get install[^\n]*\bg\+\+/);
    for (const tool of ['g++', 'gcc', 'make', 'build-essential', 'python3', 'clang']) {
      expect(finalText.split(/\s+/)).not.toContain(tool);
    }
    expect(finalText).toMatch(/apt-get install[^\n]*\bsofthsm2\b/);
    expect(finalText).not.toMatch(/^COPY\s+\.\s/m);
    for (const copy of final?.lines.filter((l) => /^COPY\b/.test(l)) ?? []) {
      expect(copy).toMatch(/--from=build\b/);
    }
  });

  test('runs as a non-root user, with a health check and the demo', () => {
    const users = final?.lines.filter((l) => /^USER\b/.test(l)) ?? [];
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|$)/);
    const healthcheck = finalText.match(/^HEALTHCHECK .*$/m)?.[0] ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "bin\/rxsign\.js", "health"\]/);
    expect(finalText).toMatch(/^CMD \["node", ("--[a-z-]+=\d+", )*"bin\/rxsign\.js", "demo"\]/m);
  });

  test('never sets a listen address beyond loopback (that needs the explicit unsafe switch at run time)', () => {
    for (const line of stages.flatMap((s) => s.lines)) {
      if (/^ENV\b/.test(line)) {
        expect(line).not.toMatch(/RXSIGN_HOST=(?!127\.0\.0\.1|::1|localhost)/);
        expect(line).not.toMatch(/RXSIGN_UNSAFE_LISTEN/);
      }
    }
  });

  test('.dockerignore keeps local state, build output and VCS data out of the context', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'node_modules', 'dist', '.rxsign', '.rxsign-test']) {
      expect(ignore).toContain(p);
    }
  });

  test.skipIf(process.env.RXSIGN_TEST_DOCKER !== '1')(
    'the image builds and becomes healthy (RXSIGN_TEST_DOCKER=1 and a container engine; skipped otherwise)',
    () => {
      execFileSync('docker', ['build', '-q', '-t', 'rxsign-test', root], { stdio: 'ignore' });
    },
    900_000,
  );
});

describe("the agent's Node flags (src/node-flags.ts)", () => {
  const flags = AGENT_NODE_FLAGS.join(' ');
  test('every way the agent is started passes them: the launcher, the demo script, the container', () => {
    const launcher = readFileSync(join(root, 'bin', 'rxsign.js'), 'utf8').split('\n')[0];
    expect(launcher).toBe(`#!/usr/bin/env -S node ${flags}`);
    expect(readFileSync(join(root, 'scripts', 'demo.sh'), 'utf8')).toContain(
      `exec node ${flags} bin/rxsign.js demo`,
    );
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toContain(
      `CMD ${JSON.stringify(['node', ...AGENT_NODE_FLAGS, 'bin/rxsign.js', 'demo']).replaceAll(',', ', ')}`,
    );
  });

  test('the launcher runs with them: V8 in the launched process reports the heap cap they set', () => {
    // A preload script reads the heap limit inside the process the launcher's first line starts.
    const dir = mkdtempSync(join(tmpdir(), 'rxsign-flags-'));
    const probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      "process.stderr.write('heap_size_limit=' + require('v8').getHeapStatistics().heap_size_limit + '\\n');",
    );
    const r = spawnSync(join(root, 'bin', 'rxsign.js'), ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--require ${probe}` },
    });
    expect(r.stdout).toMatch(/^rxsign /);
    const limit = Number(/heap_size_limit=(\d+)/.exec(r.stderr)?.[1]);
    // old-generation cap + young generation: under 300 MB with these flags (Node's default is several GB)
    expect(limit).toBeGreaterThan(0);
    expect(limit).toBeLessThan(300 * 1024 * 1024);
  });
});
