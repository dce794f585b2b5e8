// Test PKI and client helpers for the simulator tests. Certificates are issued here with the per-run auth CA
// key (pki/db/auth-ca.key) so that the tests hold the private keys; the login CMS is made by
// `openssl cms -sign -nodetach -noattr -nosmimecap -md sha1 -binary -outform DER` (docs/protocol/cis-login.md §1.3).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAuthResponse } from '../../src/auth/wire/response.js';
import {
  buildActivateRequest,
  buildValidateRequest,
  gpParamMap,
  parseGpObject,
} from '../../src/auth/wire/gpobject.js';
import { parseCrl, type CrlInfo } from '../../src/cms/crl.js';
import { loadTrustDir, type TrustStore } from '../../src/spine-sim/trust.js';
import type { SimUser } from '../../src/spine-sim/users.js';
import { pkiPaths } from '../helpers/softhsm.js';

export const UID = {
  prescriber: '555000100001',
  unknown: '555000100009',
  revoked: '555000100003',
  untrusted: '555000100004',
} as const;

export const USERS: SimUser[] = [
  {
    uid: UID.prescriber,
    name: 'Test Prescriber',
    roles: [
      {
        id: '555000100101',
        orgCode: 'B81108',
        orgName: 'SAHA SN & DE G',
        jobRole: '"Admin & Clerical":"Admin":"Registration Authority Agent"',
        jobRoleCode: 'S8001:G8001:R8006',
      },
      {
        id: '555000100102',
        orgCode: 'RBA',
        orgName: 'TAUNTON AND SOMERSET NHS FOUNDATION TRUST, MUSGROVE PARK',
        jobRole: '"Clinical":"Clinical Provision":"Medical Practitioner Access Role"',
        jobRoleCode: 'S8000:G8000:R8000',
        businessFunctions: ['Prescribe Medicines'],
        businessFunctionCodes: ['B0570'],
        areasOfWork: ['Pharmacy'],
        workGroups: ['Dispensary'],
      },
    ],
  },
  {
    uid: UID.revoked,
    name: 'Revoked Person',
    roles: [
      {
        id: '555000100301',
        orgCode: 'A81001',
        orgName: 'THE DENSHAM SURGERY',
        jobRole: '"Clinical":"Clinical Provision":"Nurse Access Role"',
        jobRoleCode: 'S8000:G8000:R8001',
      },
    ],
  },
  {
    uid: UID.untrusted,
    name: 'Untrusted Person',
    roles: [
      {
        id: '555000100401',
        orgCode: 'A81001',
        orgName: 'THE DENSHAM SURGERY',
        jobRole: '"Clinical":"Clinical Provision":"Nurse Access Role"',
        jobRoleCode: 'S8000:G8000:R8001',
      },
    ],
  },
];

export interface Identity {
  readonly cert: string;
  readonly key: string;
}

export interface LoginPki {
  readonly dir: string;
  readonly trustDir: string;
  readonly crlDir: string;
  readonly trust: TrustStore;
  readonly crls: CrlInfo[];
  readonly ids: Record<keyof typeof UID | 'mismatch', Identity>;
  cleanup(): void;
}

function openssl(args: string[], cwd?: string): Buffer {
  return execFileSync('openssl', args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
}

const LEAF_EXT = `basicConstraints = CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

function issue(
  dir: string,
  name: string,
  uid: string,
  ca: { cert: string; key: string },
  days: number,
): Identity {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, 'leaf.ext');
  writeFileSync(ext, LEAF_EXT);
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', `/O=nhs/OU=people/CN=${uid}`, '-out', csr]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    `0x${Buffer.from(name).toString('hex')}01`,
    '-days',
    String(days),
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/**
 * Makes a temp folder with: trust/ (test root + auth CA), crl/ (the root ARL and an auth-CA CRL that revokes
 * the `revoked` identity), and identities (cert + key) for each test uid. `prescriber` is valid for 2 days.
 */
export function makeLoginPki(): LoginPki {
  const p = pkiPaths();
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-spine-sim-'));
  const trustDir = join(dir, 'trust');
  const crlDir = join(dir, 'crl');
  const db = join(dir, 'db');
  for (const d of [trustDir, crlDir, db]) {
    mkdirSync(d);
  }
  copyFileSync(p.root, join(trustDir, 'root.pem'));
  copyFileSync(p.authCa, join(trustDir, 'auth-ca.pem'));
  const authCa = { cert: p.authCa, key: p.caKey('auth-ca') };

  const ids = {
    prescriber: issue(dir, 'prescriber', UID.prescriber, authCa, 2),
    unknown: issue(dir, 'unknown', UID.unknown, authCa, 30),
    revoked: issue(dir, 'revoked', UID.revoked, authCa, 30),
    // A cert for the prescriber's uid from a CA that is not in the trust folder.
    untrusted: (() => {
      const caKey = join(dir, 'rogue-ca.key');
      const caCert = join(dir, 'rogue-ca.pem');
      openssl([
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        caKey,
        '-out',
        caCert,
        '-days',
        '30',
        '-subj',
        '/C=GB/O=nhs/OU=CA/CN=Test Authentication G2',
        '-addext',
        'basicConstraints=critical,CA:true',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      return issue(dir, 'untrusted', UID.untrusted, { cert: caCert, key: caKey }, 30);
    })(),
    // A trusted cert whose CN is the unknown uid: used with uid=prescriber for UID_MISMATCH.
    mismatch: issue(dir, 'mismatch', UID.unknown, authCa, 30),
  };

  // An auth-CA CRL revoking the `revoked` identity (openssl ca database of our own).
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'crlnumber'), '2000\n');
  const cnf = join(db, 'ca.cnf');
  writeFileSync(
    cnf,
    `[ ca ]\ndefault_ca = this\n[ this ]\ndatabase = ${join(db, 'index.txt')}\ncrlnumber = ${join(db, 'crlnumber')}\ncertificate = ${authCa.cert}\nprivate_key = ${authCa.key}\ndefault_md = sha256\ndefault_crl_days = 30\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n`,
  );
  openssl([
    'ca',
    '-batch',
    '-config',
    cnf,
    '-revoke',
    ids.revoked.cert,
    '-crl_reason',
    'keyCompromise',
  ]);
  openssl([
    'ca',
    '-batch',
    '-config',
    cnf,
    '-gencrl',
    '-crlexts',
    'crl_ext',
    '-out',
    join(crlDir, 'auth-ca.crl.pem'),
  ]);
  copyFileSync(join(p.crlDir, 'root.arl'), join(crlDir, 'root.arl'));

  return {
    dir,
    trustDir,
    crlDir,
    trust: loadTrustDir(trustDir),
    crls: ['auth-ca.crl.pem', 'root.arl'].map((f) =>
      parseCrl(new Uint8Array(readFileSync(join(crlDir, f)))),
    ),
    ids,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The login CMS over `content`, made by openssl exactly as docs/protocol/cis-login.md §1.3 says. */
export function signChallenge(id: Identity, content: Uint8Array): Uint8Array {
  return new Uint8Array(
    execFileSync(
      'openssl',
      [
        'cms',
        '-sign',
        '-nodetach',
        '-noattr',
        '-nosmimecap',
        '-md',
        'sha1',
        '-binary',
        '-outform',
        'DER',
        '-signer',
        id.cert,
        '-inkey',
        id.key,
      ],
      {
        input: content,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    ),
  );
}

export const CLIENT = { logSessionId: 'ZtBJb9tU7T', deviceId: 'b02edd24', clientIp: '127.0.0.1' };

/** POSTs a body and returns status and text. */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

/** GETs a URL and returns status and text. */
export async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** authactivate → the challenge and signature. */
export async function activate(
  base: string,
): Promise<{ challenge: string; signature: string; replyUrl: string }> {
  const res = await post(`${base}/login/authactivate`, buildActivateRequest(CLIENT));
  const map = gpParamMap(parseGpObject(res.text));
  return {
    challenge: map.get('challenge') ?? '',
    signature: map.get('signature') ?? '',
    replyUrl: map.get('reply_url') ?? '',
  };
}

/** The full authvalidate exchange for `uid` signed by `id`; `tamper` may alter the pieces. */
export async function login(
  base: string,
  uid: string,
  id: Identity,
  tamper: {
    content?: (c: Uint8Array) => Uint8Array;
    cms?: (d: Uint8Array) => Uint8Array;
    signature?: string;
  } = {},
): Promise<{ status: number; text: string; params: ReadonlyMap<string, string> }> {
  const { challenge, signature } = await activate(base);
  const bytes = new Uint8Array(Buffer.from(challenge, 'base64'));
  const content = tamper.content ? tamper.content(bytes) : bytes;
  const der = signChallenge(id, content);
  const cms = tamper.cms ? tamper.cms(der) : der;
  const body = buildValidateRequest({
    ...CLIENT,
    challenge,
    signature: tamper.signature ?? signature,
    uid,
    response: buildAuthResponse(cms),
  });
  const res = await post(`${base}/login/authvalidate`, body);
  let params: ReadonlyMap<string, string> = new Map();
  try {
    params = gpParamMap(parseGpObject(res.text));
  } catch {
    // not a gpOBJECT (e.g. an injected 503): the caller checks the status
  }
  return { ...res, params };
}
