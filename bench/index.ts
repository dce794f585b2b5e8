// `npm run bench`: every figure in one run, as ratios against the raw PKCS#11 and openssl figures measured here
// (raw C_Sign once at the start, and again just before each section for that section's ratios).
// Options: --json (machine-readable), --ms N (time per measurement, default 3000), --only SECTION (the baseline
// and that section: 'token layer', 'signing', 'verification', 'fhir', 'service' or 'credential management'),
// --signatures N (the service section's memory run, default 100000).
import { parseArgs } from 'node:util';
import { benchCard, fmt, opensslRsa2048, type Row } from './common.js';
import { rawParallelRate, rawRate, tokenLayer } from './token-layer.js';
import { DEFAULT_SESSIONS } from '../src/pkcs11/index.js';
import { extraSections } from './sections.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    ms: { type: 'string', default: '3000' },
    only: { type: 'string' },
    signatures: { type: 'string', default: '100000' },
  },
});
const ms = Number(values.ms);

const card = benchCard();
const raw = rawRate(card, ms);
const rawParallel = await rawParallelRate(card, ms, DEFAULT_SESSIONS);
const ossl = opensslRsa2048(Math.max(1, Math.round(ms / 1000)));
const rows: Row[] = [
  {
    section: 'baseline',
    name: 'raw C_Sign (graphene, in-process, SHA256_RSA_PKCS)',
    perSecond: raw,
  },
  {
    section: 'baseline',
    name: `raw C_Sign, ${DEFAULT_SESSIONS} sessions in parallel (pkcs11js async)`,
    perSecond: rawParallel,
    baseline: 'raw C_Sign',
    ratio: rawParallel / raw,
  },
  {
    section: 'baseline',
    name: 'openssl speed rsa2048 sign',
    perSecond: ossl.sign,
    baseline: 'raw C_Sign',
    ratio: ossl.sign / raw,
  },
  { section: 'baseline', name: 'openssl speed rsa2048 verify', perSecond: ossl.verify },
];
const wanted = (name: string): boolean => values.only === undefined || values.only === name;

/**
 * Raw C_Sign measured again just before a section, the figure its ratios use. This machine's speed drifts
 * within one run (a shared host: the same code's ratio moved by a third between sections measured against the
 * run's first figure); a figure taken next to the section compares like with like. Printed with the section.
 */
function sectionRaw(section: string): number {
  const r = rawRate(card, Math.min(ms, 2000));
  rows.push({
    section,
    name: 'raw C_Sign just before this section (its ratios use it)',
    perSecond: r,
    baseline: 'raw C_Sign',
    ratio: r / raw,
  });
  return r;
}

if (wanted('token layer')) {
  const here = sectionRaw('token layer');
  rows.push(...(await tokenLayer(card, here, ms)));
}
for (const section of extraSections.filter((s) => wanted(s.name))) {
  const here = section.rawRatios ? sectionRaw(section.name) : raw;
  rows.push(
    ...(await section.run({
      card,
      raw: here,
      opensslVerify: ossl.verify,
      ms,
      signatures: Number(values.signatures),
    })),
  );
}

if (values.json) {
  process.stdout.write(`${JSON.stringify({ node: process.version, rows }, null, 2)}\n`);
} else {
  const w = Math.max(...rows.map((r) => r.name.length));
  let section = '';
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      process.stdout.write(`\n${section}\n`);
    }
    const value = Number.isNaN(r.perSecond) ? (r.extra ?? '') : `${fmt(r.perSecond)}/s`;
    const ratio = r.ratio === undefined ? '' : `  ${r.ratio.toFixed(2)}x ${r.baseline ?? ''}`;
    const target = r.target ? `  target ${r.target} ${r.pass ? 'PASS' : 'MISS'}` : '';
    process.stdout.write(`  ${r.name.padEnd(w)}  ${value.padStart(12)}${ratio}${target}\n`);
  }
}
