// Service section (issue 10 §7): the whole agent (src/agent.ts) in a child process, logged in to the Spine
// simulator with the bench card, driven over loopback HTTP by the lean load generator (http-load.ts):
// - p99 latency of the status route while CMS signing runs at full speed (target <= 5 ms);
// - CMS signing through the full stack (HTTP, caller checks and authentication where the agent has them,
//   policy, card, audit fsync) as a ratio of raw C_Sign measured in this run (target >= 0.8);
// - CPU time per CMS signature of the agent's main thread, of the whole agent (the PKCS#11 worker, the libuv
//   pool, V8's helper threads) and of the load generator, from /proc: steadier than the rate, which the
//   scheduler's sharing of the cores moves from run to run (RXSIGN_BENCH_AGENT_FLAGS adds Node flags to the
//   agent, e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it);
// - resident memory of the agent process alone over N signatures (default 100,000): peak (target <= 150 MB)
//   and growth after the first 10,000 (target: none beyond noise, <= 10 MB), from /proc/<pid>/status VmRSS.
// The load generator runs in the benchmark's process on the same machine: both share the CPU. It signs on 16
// connections at once; RXSIGN_BENCH_CMS_CLIENTS sets another number (on two cores one connection costs the
// agent about three times the CPU per signature of sixteen: fewer signatures share each wake-up).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../src/node-flags.js';
import { startSpineSim } from '../src/spine-sim/index.js';
import { loadCrlDir, trustFromCertificates } from '../src/spine-sim/index.js';
import { loadUsersFile } from '../src/spine-sim/index.js';
import { parseCertificate, pemToDer } from '../src/cms/index.js';
import { rate, type Row, type SectionInput } from './common.js';
import { loadConnection, loadPool, type RequestOptions } from './http-load.js';

/** Connections signing at once (RXSIGN_BENCH_CMS_CLIENTS, default 16). */
const CMS_CLIENTS = ((): number => {
  const n = Number(process.env.RXSIGN_BENCH_CMS_CLIENTS ?? 16);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new Error('bench: RXSIGN_BENCH_CMS_CLIENTS must be a whole number from 1 to 256');
  }
  return n;
})();

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** CPU time (ms, user + system) of the process `pid` and of its main thread, from /proc (proc(5) stat). */
function cpuMs(pid: number): { process: number; main: number } {
  const ticks = (file: string): number => {
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th (1-based 14, 15).
    const f = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(f[11]) + Number(f[12]);
  };
  const hz = 100; // USER_HZ on Linux
  return {
    process: (ticks(`/proc/${pid}/stat`) * 1000) / hz,
    main: (ticks(`/proc/${pid}/task/${pid}/stat`) * 1000) / hz,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);

async function startChild(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      ...AGENT_NODE_FLAGS,
      // e.g. RXSIGN_BENCH_AGENT_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the agent alone.
      ...(process.env.RXSIGN_BENCH_AGENT_FLAGS?.split(' ').filter(Boolean) ?? []),
      join(import.meta.dirname, 'agent-child.js'),
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /url (\S+)\n/.exec(out);
      if (m?.[1]) {
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`bench: the agent exited (${code})`)));
  });
  return { child, url };
}

/** Authorization for a local program, when the agent has a key (`$XDG_RUNTIME_DIR/rxsign/api-key`). */
function credentials(runtimeDir: string): Readonly<Record<string, string>> {
  const keyFile = join(runtimeDir, 'rxsign', 'api-key');
  return existsSync(keyFile)
    ? { authorization: `Bearer ${readFileSync(keyFile, 'utf8').trim()}` }
    : {};
}

async function json(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body: string,
  options: RequestOptions,
): Promise<{ status: number; body: string }> {
  let got = { status: 0, body: '' };
  const c = await loadConnection(
    port,
    path,
    body,
    (status, b) => {
      got = { status, body: b.toString('utf8') };
    },
    { ...options, method },
  );
  try {
    await c.send();
  } finally {
    c.close();
  }
  return got;
}

/**
 * Rows of the service section; `signatures` is the length of the memory run.
 *
 * @example
 * ```ts
 * extraSections.push({ name: 'service', run: (i) => serviceSection(i, 100_000) });
 * ```
 */
export async function serviceSection(input: SectionInput, signatures: number): Promise<Row[]> {
  const { card, raw, ms } = input;
  const tmp = mkdtempSync(join(tmpdir(), 'rxsign-bench-service-'));
  const pki = join(card.dir, 'pki');
  const sim = await startSpineSim({
    users: loadUsersFile(join(card.dir, 'users.json')),
    trust: trustFromCertificates(
      ['root.pem', 'auth-ca.pem'].map((f) =>
        parseCertificate(pemToDer(readFileSync(join(pki, f), 'utf8'))),
      ),
    ),
    crls: loadCrlDir(join(pki, 'crl')),
  });
  const runtimeDir = join(tmp, 'runtime');
  const { child, url } = await startChild({
    RXSIGN_MODULE: card.modulePath,
    RXSIGN_TOKEN: card.label,
    RXSIGN_SSB_URL: sim.url,
    RXSIGN_AUDIT_LOG: join(tmp, 'state', 'audit.log'),
    RXSIGN_AUDIT_RESERVE_MB: '16',
    XDG_STATE_HOME: join(tmp, 'state'),
    XDG_CONFIG_HOME: join(tmp, 'config'),
    XDG_RUNTIME_DIR: runtimeDir,
    RXSIGN_LOG_LEVEL: 'silent',
  });
  const pid = child.pid ?? 0;
  const port = Number(new URL(url).port);
  try {
    const auth = credentials(runtimeDir);
    const login = await json(port, 'POST', '/api/v1/login', JSON.stringify({ pin: card.pin }), {
      headers: auth,
    });
    if (login.status !== 200) {
      throw new Error(`bench: login answered ${login.status}`);
    }
    const statusPath =
      (await json(port, 'GET', '/api/v1/status', '', { headers: auth })).status === 200
        ? '/api/v1/status'
        : '/ticket-api/status';

    const body = JSON.stringify({
      content: Buffer.from('a document of modest size\n'.repeat(40)).toString('base64'),
    });
    const check = (status: number, answer: Buffer): void => {
      if (status !== 200 || !answer.includes('"cms":"')) {
        throw new Error(`bench: CMS route answered ${status}`);
      }
    };
    const pool = await loadPool(port, '/api/v1/sign/cms', body, check, CMS_CLIENTS, {
      headers: auth,
    });
    let cmsRate: number;
    let cpuPerSignature = { main: NaN, agent: NaN, generator: NaN };
    const latencies: number[] = [];
    try {
      await rate(pool.send, 300, CMS_CLIENTS); // warm-up
      // The status prober: one connection, one request after the other, while the pool signs flat out.
      const prober = await loadConnection(
        port,
        statusPath,
        '',
        (status) => {
          if (status !== 200) {
            throw new Error(`bench: status answered ${status}`);
          }
        },
        { method: 'GET', headers: auth },
      );
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const t0 = performance.now();
          await prober.send();
          latencies.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const cpu0 = cpuMs(pid);
      const own0 = process.cpuUsage();
      const t0 = performance.now();
      cmsRate = await rate(pool.send, ms, CMS_CLIENTS);
      const signed = (cmsRate * (performance.now() - t0)) / 1000;
      const cpu1 = cpuMs(pid);
      const own1 = process.cpuUsage(own0);
      cpuPerSignature = {
        main: (cpu1.main - cpu0.main) / signed,
        agent: (cpu1.process - cpu0.process) / signed,
        generator: (own1.user + own1.system) / 1000 / signed,
      };
      probing = false;
      await probe;
      prober.close();

      // Memory: the agent process alone, over `signatures` signatures.
      const samples: { after: number; rss: number }[] = [{ after: 0, rss: rssBytes(pid) }];
      const every = Math.max(1000, Math.floor(signatures / 50));
      let done = 0;
      while (done < signatures) {
        const n = Math.min(every, signatures - done);
        let issued = 0;
        await Promise.all(
          Array.from({ length: CMS_CLIENTS }, async () => {
            while (issued < n) {
              issued++;
              await pool.send();
            }
          }),
        );
        done += n;
        samples.push({ after: done, rss: rssBytes(pid) });
      }
      const peak = Math.max(...samples.map((s) => s.rss));
      const at10k =
        samples.find((s) => s.after >= Math.min(10_000, signatures))?.rss ?? samples[0]?.rss ?? 0;
      const later = samples.filter((s) => s.after > Math.min(10_000, signatures));
      const growth = later.length === 0 ? 0 : Math.max(...later.map((s) => s.rss)) - at10k;
      const lastRss = samples.at(-1)?.rss ?? 0;
      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      const trace = samples
        .filter(
          (_, i) =>
            i % Math.max(1, Math.floor(samples.length / 10)) === 0 || i === samples.length - 1,
        )
        .map((s) => `${s.after / 1000}k:${mb(s.rss)}`)
        .join(' ');
      return [
        {
          section: 'service',
          name: `GET ${statusPath} p99 while signing (${latencies.length} probes; p50 ${p50.toFixed(2)} ms)`,
          perSecond: NaN,
          extra: `${p99.toFixed(2)} ms`,
          target: '<= 5 ms',
          pass: p99 <= 5,
        },
        {
          section: 'service',
          name: `CMS sign, whole agent over HTTP${auth.authorization ? ' with its API key' : ''} (${CMS_CLIENTS} clients)`,
          perSecond: cmsRate,
          baseline: 'raw C_Sign',
          ratio: cmsRate / raw,
          target: '>= 0.8',
          pass: cmsRate / raw >= 0.8,
        },
        {
          section: 'service',
          name: 'CPU per CMS signature: agent main thread / whole agent / load generator',
          perSecond: NaN,
          extra: `${cpuPerSignature.main.toFixed(3)} / ${cpuPerSignature.agent.toFixed(3)} / ${cpuPerSignature.generator.toFixed(3)} ms`,
        },
        {
          section: 'service',
          name: `agent RSS peak over ${signatures} signatures`,
          perSecond: NaN,
          extra: `${mb(peak)} MB`,
          target: '<= 150 MB',
          pass: peak <= 150 * 1024 * 1024,
        },
        {
          section: 'service',
          name: `agent RSS growth after 10k (at 10k ${mb(at10k)} MB, last ${mb(lastRss)} MB)`,
          perSecond: NaN,
          extra: `${mb(growth)} MB`,
          target: '<= 10 MB',
          pass: growth <= 10 * 1024 * 1024,
        },
        {
          section: 'service',
          name: 'agent RSS samples (signatures:MB)',
          perSecond: NaN,
          extra: trace,
        },
      ];
    } finally {
      pool.close();
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
