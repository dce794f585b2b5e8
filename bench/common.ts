// Shared benchmark helpers: a SoftHSM card for the run, timing loops, openssl's own figures.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pemToDer } from '../src/cms/index.js';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BenchCard {
  modulePath: string;
  label: string;
  serial: string;
  pin: string;
  dir: string;
}

/** What every benchmark section gets: the card, this run's baselines and the time per measurement. */
export interface SectionInput {
  /** Signatures of the service section's memory run (--signatures, default 100,000). */
  signatures?: number;
  card: BenchCard;
  /** raw C_Sign per second, measured in this run */
  raw: number;
  /** openssl RSA-2048 verify per second, measured in this run */
  opensslVerify: number;
  ms: number;
}

/** Makes (or reuses) the SoftHSM cards under .rxsign/bench and returns the prescriber card. */
export function benchCard(): BenchCard {
  const dir = join(projectRoot, '.rxsign', 'bench-softhsm');
  const conf = execFileSync(process.execPath, [join(projectRoot, 'softhsm', 'setup.mjs'), dir])
    .toString()
    .trim();
  process.env.SOFTHSM2_CONF = conf;
  const made = JSON.parse(readFileSync(join(dir, 'cards.json'), 'utf8')) as {
    module: string;
    cards: { label: string; serial: string }[];
  };
  const spec = JSON.parse(readFileSync(join(projectRoot, 'softhsm', 'cards.json'), 'utf8')) as {
    cards: { label: string; pin: string }[];
  };
  const card = made.cards.find((c) => c.label === 'prescriber');
  const pin = spec.cards.find((c) => c.label === 'prescriber')?.pin;
  if (!card || !pin) {
    throw new Error('bench: prescriber card missing');
  }
  return { modulePath: made.module, label: card.label, serial: card.serial, pin, dir };
}

/** Runs `op` for about `ms` milliseconds with `concurrency` callers; returns operations per second. */
export async function rate(
  op: () => Promise<unknown>,
  ms: number,
  concurrency = 1,
): Promise<number> {
  let count = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await op();
        count += 1;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

export function rateSync(op: () => void, ms: number): number {
  let count = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    op();
    count += 1;
  }
  return count / ((performance.now() - start) / 1000);
}

/** `openssl speed` sign (and verify) rate for RSA-2048 on this machine, this run. */
export function opensslRsa2048(seconds = 2): { sign: number; verify: number } {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), 'rsa2048'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const m = /rsa\s+2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(out);
  if (!m?.[1] || !m[2]) {
    throw new Error('bench: could not read openssl speed output');
  }
  return { sign: Number(m[1]), verify: Number(m[2]) };
}

export interface Row {
  section: string;
  name: string;
  perSecond: number;
  baseline?: string;
  ratio?: number;
  target?: string;
  pass?: boolean;
  extra?: string;
}

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(2);
}

/** A key and certificate on disk, with their contents. */
export interface BenchSigner {
  keyPath: string;
  certPath: string;
  keyPem: string;
  certPem: string;
  certDer: Buffer;
}

/**
 * A self-signed RSA-2048 key and certificate (SHA-256, 30 days) made by `openssl req -x509` in `dir`, from an
 * openssl request configuration whose [dn] and [ext] sections say whom it names and what it is for.
 */
export function selfSignedSigner(dir: string, config: string): BenchSigner {
  const cfg = join(dir, 'req.cnf');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  writeFileSync(cfg, config);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30'],
      ...['-config', cfg, '-keyout', keyPath, '-out', certPath],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const certPem = readFileSync(certPath, 'utf8');
  return {
    keyPath,
    certPath,
    keyPem: readFileSync(keyPath, 'utf8'),
    certPem,
    certDer: Buffer.from(pemToDer(certPem, ['CERTIFICATE'])),
  };
}

/** Raw C_Sign in a child process (raw-child.ts), measured on demand between the timed runs of a section. */
export interface RawChild {
  /** Signs for about `ms` milliseconds in the child; resolves with signatures per second. */
  rate(ms: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts raw-child.ts for `card` and waits until its session is open.
 *
 * @example
 * ```ts
 * const raw = await startRawChild(card);
 * const perSecond = await raw.rate(150);
 * await raw.close();
 * ```
 */
export async function startRawChild(card: BenchCard): Promise<RawChild> {
  const child = spawn(
    process.execPath,
    [join(dirname(fileURLToPath(import.meta.url)), 'raw-child.js'), JSON.stringify(card)],
    { stdio: ['pipe', 'pipe', 'inherit'], env: process.env },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done === true) {
      throw new Error('bench: the raw C_Sign child exited');
    }
    return r.value;
  };
  if ((await next()) !== 'ready') {
    throw new Error('bench: the raw C_Sign child did not start');
  }
  return {
    rate: async (ms) => {
      child.stdin.write(`${ms}\n`);
      return Number(await next());
    },
    close: async () => {
      child.stdin.end();
      if (child.exitCode === null) {
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
