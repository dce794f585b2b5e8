#!/usr/bin/env node
// Creates rxsign's test smartcards and an NHS-shaped test PKI under one per-run folder.
//
//   node softhsm/setup.mjs [DIR]        (default: .rxsign/softhsm beside package.json)
//
// Idempotent: a stamp records the hash of this script and cards.json; a folder made by the same inputs is kept.
// Uses only openssl, softhsm2-util and pkcs11-tool (no network). Prints the SOFTHSM2_CONF to export.
//
// Layout of DIR:
//   softhsm2.conf            SOFTHSM2_CONF for this folder only (tokendir DIR/tokens)
//   tokens/                  SoftHSM token folders, one per card
//   pki/root.pem, pki/auth-ca.pem, pki/sign-ca.pem      trust anchors and sub-CAs (PEM)
//   pki/trust/               the root only (for --trust)
//   pki/ca/                  the root and the auth and signing sub-CAs (for --trust when only the leaf is sent)
//   pki/crl/                 auth-ca.crl, sign-ca.crl and root.arl (DER), for --crl
//   pki/retired-ca.pem       a sub-CA revoked on the root's ARL, with pki/retired-signer.{pem,key} under it
//   cards/<label>/           auth.pem, sign.pem (the certificates written to the card)
//   users.json               the Spine simulator's users file for these cards
//   cards.json               the cards with their module-relative facts (label, serial, uid)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, '..');
const finalDir = resolve(process.argv[2] ?? join(projectRoot, '.rxsign', 'softhsm'));
// Built in a private folder and renamed into place at the end, so that concurrent runs (parallel test
// processes) never see or break a half-made folder.
const dir = `${finalDir}.build-${process.pid}`;
const modulePath = process.env.RXSIGN_SOFTHSM_MODULE ?? findSoftHsmModule();
const spec = JSON.parse(readFileSync(join(here, 'cards.json'), 'utf8'));

const stamp = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .update(readFileSync(join(here, 'cards.json')))
  .digest('hex');
const finalStamp = join(finalDir, '.stamp');
function upToDate() {
  return existsSync(finalStamp) && readFileSync(finalStamp, 'utf8') === stamp;
}
/**
 * Private keys (the demo PKI's CA keys, card keys while they exist) are written with umask 077 and kept 0600:
 * on a shared machine another OS user must not read the keys of the demo/test CAs. `privateKeyFiles` finds
 * every PEM file holding a private key, so a folder made by an older setup is tightened too.
 */
function privately(fn) {
  const old = process.umask(0o077);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}
function privateKeyFiles(root) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else if (
        e.isFile() &&
        /\.(key|pem)$/.test(e.name) &&
        readFileSync(p, 'latin1').includes('PRIVATE KEY-----')
      ) {
        out.push(p);
      }
    }
  };
  if (existsSync(root) && lstatSync(root).isDirectory()) {
    walk(root);
  }
  return out;
}
function tightenKeys(root) {
  for (const p of privateKeyFiles(root)) {
    chmodSync(p, 0o600);
  }
}
if (upToDate()) {
  tightenKeys(join(finalDir, 'pki'));
  tightenKeys(join(finalDir, 'cards'));
  process.stdout.write(`${join(finalDir, 'softhsm2.conf')}\n`);
  process.exit(0);
}
const stampFile = join(dir, '.stamp');

rmSync(dir, { recursive: true, force: true });
for (const sub of ['tokens', 'pki/trust', 'pki/crl', 'pki/db', 'cards']) {
  mkdirSync(join(dir, sub), { recursive: true });
}
const conf = join(dir, 'softhsm2.conf');
writeFileSync(
  conf,
  [
    `directories.tokendir = ${join(dir, 'tokens')}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = true',
    'slots.mechanisms = ALL',
    '',
  ].join('\n'),
);
const env = { ...process.env, SOFTHSM2_CONF: conf };
const pki = join(dir, 'pki');

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (err) {
    const stderr = err.stderr ? err.stderr.toString() : '';
    throw new Error(`${cmd} ${args[0] ?? ''} failed: ${stderr.trim() || err.message}`);
  }
}

function findSoftHsmModule() {
  const candidates = [
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    process.stderr.write(
      'softhsm2 is not installed (libsofthsm2.so not found); apt-get install softhsm2\n',
    );
    process.exit(2);
  }
  return found;
}

// openssl date forms: `openssl ca` takes YYYYMMDDHHMMSSZ; the PKUP extension takes GeneralizedTime DER.
const DAY = 86_400_000;
const now = Date.now();
function gt(ms) {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}
function pkupDer(fromMs, toMs) {
  const a = Buffer.from(gt(fromMs), 'ascii');
  const b = Buffer.from(gt(toMs), 'ascii');
  const body = Buffer.concat([Buffer.from([0x80, a.length]), a, Buffer.from([0x81, b.length]), b]);
  const der = Buffer.concat([Buffer.from([0x30, body.length]), body]);
  return [...der].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// One openssl "ca" database per issuing CA, so that revocation and CRLs are real openssl output.
function caConfig(name) {
  const db = join(pki, 'db', name);
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), randomSerial());
  writeFileSync(join(db, 'crlnumber'), '1000\n');
  const cfg = join(db, 'ca.cnf');
  writeFileSync(
    cfg,
    `[ ca ]
default_ca = this
[ this ]
dir = ${db}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ${join(pki, name + '.pem')}
private_key = ${join(pki, name + '.key')}
default_md = sha256
default_crl_days = 30
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = no
[ anything ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
`,
  );
  return cfg;
}

function randomSerial() {
  // Positive, 8 bytes, leading nibble non-zero: like the Entrust serials on real cards.
  const b = createHash('sha256')
    .update(String(Math.random()) + String(process.hrtime.bigint()))
    .digest();
  b[0] = (b[0] & 0x3f) | 0x10;
  return b.subarray(0, 8).toString('hex').toUpperCase() + '\n';
}

function genKey(path, bits) {
  privately(() =>
    run('openssl', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      `rsa_keygen_bits:${bits}`,
      '-out',
      path,
    ]),
  );
  chmodSync(path, 0o600);
}

function issue({ ca, subject, keyPath, extFile, from, to, md = 'sha256', out, selfSign = false }) {
  const csr = `${out}.csr`;
  run('openssl', ['req', '-new', '-key', keyPath, '-subj', subject, '-out', csr]);
  const args = [
    'ca',
    '-batch',
    '-config',
    caConfig.cache[ca],
    '-in',
    csr,
    '-out',
    out,
    '-notext',
    '-md',
    md,
    '-startdate',
    gt(from),
    '-enddate',
    gt(to),
    '-extfile',
    extFile,
    '-preserveDN',
    '-multivalue-rdn',
  ];
  if (selfSign) {
    args.push('-selfsign', '-keyfile', keyPath);
  }
  run('openssl', args);
  rmSync(csr);
}
caConfig.cache = {};

function ext(name, body) {
  const p = join(pki, 'db', `${name}.ext`);
  writeFileSync(p, body);
  return p;
}

// --- the CA hierarchy (shaped like NHS G2: a root, an authentication sub-CA and a signing sub-CA) ---
const caDefs = [
  { name: 'root', subject: '/C=GB/O=NHS/OU=CA/CN=Test Root Authority G2', issuer: 'root' },
  { name: 'auth-ca', subject: '/C=GB/O=nhs/OU=CA/CN=Test Authentication G2', issuer: 'root' },
  { name: 'sign-ca', subject: '/C=GB/O=nhs/OU=CA/CN=Test Signing G2', issuer: 'root' },
  { name: 'retired-ca', subject: '/C=GB/O=nhs/OU=CA/CN=Test Retired Signing CA', issuer: 'root' },
];
for (const c of caDefs) {
  genKey(join(pki, `${c.name}.key`), 2048);
  caConfig.cache[c.name] = caConfig(c.name);
}
for (const c of caDefs) {
  const isRoot = c.name === 'root';
  const extFile = ext(
    c.name,
    `basicConstraints = critical, CA:true${isRoot ? '' : ', pathlen:0'}
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
${isRoot ? '' : `crlDistributionPoints = URI:http://crl.rxsign.test/root.arl\n`}`,
  );
  issue({
    ca: c.issuer,
    subject: c.subject,
    keyPath: join(pki, `${c.name}.key`),
    extFile,
    from: now - 30 * DAY,
    to: now + (isRoot ? 20 : 10) * 365 * DAY,
    out: join(pki, `${c.name}.pem`),
    selfSign: isRoot,
  });
}
writeFileSync(join(pki, 'trust', 'root.pem'), readFileSync(join(pki, 'root.pem')));
// pki/ca/: the root and its live sub-CAs, for `--trust` where the signed object carries only the leaf
// (the Spine simulator's login CMS, `rxsign verify`): self-signed = anchor, the others = intermediates.
mkdirSync(join(pki, 'ca'), { recursive: true });
for (const n of ['root', 'auth-ca', 'sign-ca']) {
  writeFileSync(join(pki, 'ca', `${n}.pem`), readFileSync(join(pki, `${n}.pem`)));
}
writeFileSync(
  join(pki, 'chain.pem'),
  Buffer.concat(['auth-ca', 'sign-ca'].map((n) => readFileSync(join(pki, `${n}.pem`)))),
);

// --- end-entity profiles ---
function userExt({ kind, pkupFrom, pkupTo }) {
  const ca = kind === 'auth' ? 'auth-ca' : 'sign-ca';
  const ku = kind === 'auth' ? 'critical, digitalSignature' : 'critical, nonRepudiation';
  const policy = kind === 'auth' ? '1.2.826.0.1275.101.0.3.1.1' : '1.2.826.0.1275.102.0.3.2.0';
  return `basicConstraints = CA:false
keyUsage = ${ku}
certificatePolicies = ${policy}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://crl.rxsign.test/${ca}.crl
2.5.29.16 = DER:${pkupDer(pkupFrom, pkupTo)}
`;
}

function token(args) {
  return run('softhsm2-util', args).toString();
}
function p11(label, pin, args) {
  return run('pkcs11-tool', [
    '--module',
    modulePath,
    '--token-label',
    label,
    '--login',
    '--pin',
    pin,
    ...args,
  ]);
}

const cardsOut = [];
for (const card of spec.cards) {
  const profile = card.profile ?? 'standard';
  const bits = profile === 'legacy' ? 1024 : 2048;
  const md = profile === 'legacy' ? 'sha1' : 'sha256';
  let from = now - DAY;
  let to = now + 2 * 365 * DAY;
  let pkupFrom = from;
  let pkupTo = now + 18 * 30 * DAY;
  if (profile === 'expired') {
    from = now - 3 * 365 * DAY;
    to = now - 30 * DAY;
    pkupFrom = from;
    pkupTo = now - 60 * DAY;
  }
  if (profile === 'pkup-ended') {
    from = now - 10 * DAY;
    pkupFrom = from;
    pkupTo = now - 2 * DAY;
  }
  const cdir = join(dir, 'cards', card.label);
  mkdirSync(cdir, { recursive: true });
  token([
    '--init-token',
    '--free',
    '--label',
    card.label,
    '--so-pin',
    card.soPin,
    '--pin',
    card.pin,
  ]);

  const kinds = profile === 'auth-only' ? ['auth'] : ['auth', 'sign'];
  for (const kind of kinds) {
    const id = kind === 'auth' ? '01' : '02';
    const key = join(cdir, `${kind}.key`);
    genKey(key, bits);
    const subject =
      kind === 'auth'
        ? `/O=nhs/OU=people/CN=${card.uid}`
        : `/O=nhs/OU=People/CN=${card.uid}_${card.name.split(' ').reverse().join('_')}`;
    const certPem = join(cdir, `${kind}.pem`);
    issue({
      ca: kind === 'auth' ? 'auth-ca' : 'sign-ca',
      subject,
      keyPath: key,
      extFile: ext(`${card.label}-${kind}`, userExt({ kind, pkupFrom, pkupTo })),
      from,
      to,
      md,
      out: certPem,
    });
    const certDer = join(cdir, `${kind}.der`);
    run('openssl', ['x509', '-in', certPem, '-outform', 'DER', '-out', certDer]);
    const p8 = join(cdir, `${kind}.p8.pem`);
    privately(() => run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', key, '-out', p8]));
    const label = kind === 'auth' ? `${card.uid} authentication` : `${card.uid} signing`;
    token(['--import', p8, '--token', card.label, '--label', label, '--id', id, '--pin', card.pin]);
    p11(card.label, card.pin, [
      '--write-object',
      certDer,
      '--type',
      'cert',
      '--id',
      id,
      '--label',
      label,
    ]);
    // The private key stays on the card only; the PEM copy exists for the PKI's own bookkeeping during setup.
    rmSync(p8);
    rmSync(key);
    if (profile === 'revoked') {
      run('openssl', [
        'ca',
        '-batch',
        '-config',
        caConfig.cache[kind === 'auth' ? 'auth-ca' : 'sign-ca'],
        '-revoke',
        certPem,
        '-crl_reason',
        'keyCompromise',
      ]);
    }
  }
  const info = token(['--show-slots']);
  const serial = serialFor(info, card.label);
  cardsOut.push({ label: card.label, serial, uid: card.uid, name: card.name, profile });
}

function serialFor(showSlots, label) {
  const blocks = showSlots.split(/\n(?=Slot )/);
  for (const b of blocks) {
    if (new RegExp(`Label:\\s+${label}\\s*$`, 'm').test(b)) {
      const m = /Serial number:\s+(\S+)/.exec(b);
      if (m) {
        return m[1];
      }
    }
  }
  throw new Error(`token ${label} not found after init`);
}

// A retired sub-CA (revoked on the root's ARL) and a signer under it, as files for verification tests.
{
  const key = join(pki, 'retired-signer.key');
  genKey(key, 2048);
  issue({
    ca: 'retired-ca',
    subject: '/O=nhs/OU=People/CN=555000000099_Signer_Retired',
    keyPath: key,
    extFile: ext(
      'retired-signer',
      userExt({ kind: 'sign', pkupFrom: now - DAY, pkupTo: now + 365 * DAY }),
    ),
    from: now - DAY,
    to: now + 365 * DAY,
    out: join(pki, 'retired-signer.pem'),
  });
  run('openssl', [
    'ca',
    '-batch',
    '-config',
    caConfig.cache.root,
    '-revoke',
    join(pki, 'retired-ca.pem'),
    '-crl_reason',
    'cACompromise',
  ]);
}

// CRLs (DER, as CAs publish them) for each sub-CA, and the root's ARL.
for (const [name, file] of [
  ['auth-ca', 'auth-ca.crl'],
  ['sign-ca', 'sign-ca.crl'],
  ['retired-ca', 'retired-ca.crl'],
  ['root', 'root.arl'],
]) {
  const pem = join(pki, 'db', `${name}.crl.pem`);
  run('openssl', [
    'ca',
    '-batch',
    '-config',
    caConfig.cache[name],
    '-gencrl',
    '-crlexts',
    'crl_ext',
    '-out',
    pem,
  ]);
  run('openssl', ['crl', '-in', pem, '-outform', 'DER', '-out', join(pki, 'crl', file)]);
}
// CA keys are not needed after setup, except where tests sign CRLs or certificates of their own: keep them
// only inside pki/db (never on a card), named for what they are.
for (const c of caDefs) {
  writeFileSync(join(pki, 'db', `${c.name}.key`), readFileSync(join(pki, `${c.name}.key`)), {
    mode: 0o600,
  });
  chmodSync(join(pki, 'db', `${c.name}.key`), 0o600);
  rmSync(join(pki, `${c.name}.key`));
}

const users = spec.cards.map((c) => ({ uid: c.uid, name: c.name, roles: c.roles }));
writeFileSync(join(dir, 'users.json'), JSON.stringify(users, null, 2) + '\n');
writeFileSync(
  join(dir, 'cards.json'),
  JSON.stringify({ module: modulePath, cards: cardsOut }, null, 2) + '\n',
);
tightenKeys(pki);
tightenKeys(join(dir, 'cards'));
writeFileSync(stampFile, stamp);
// Point the configuration at the final folder, then move the folder into place (unless a concurrent run won).
writeFileSync(
  conf,
  readFileSync(conf, 'utf8').replace(join(dir, 'tokens'), join(finalDir, 'tokens')),
);
if (upToDate()) {
  rmSync(dir, { recursive: true, force: true });
} else {
  rmSync(finalDir, { recursive: true, force: true });
  try {
    renameSync(dir, finalDir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    if (!upToDate()) {
      throw err;
    }
  }
}
process.stdout.write(`${join(finalDir, 'softhsm2.conf')}\n`);
