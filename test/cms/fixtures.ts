// Test PKI helpers for the cms suites: read the per-run PKI (test/helpers/softhsm.ts) and issue extra
// certificates/CRLs under the test sign-ca with a private, temporary `openssl ca` database, so that the
// shared PKI's own database is never changed.
import { execFileSync } from 'node:child_process';
import { sign as nodeSign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate, pemToDer, type CertificateInfo } from '../../src/cms/certificate.js';
import type { RsaSigner } from '../../src/cms/sign.js';
import { pkiPaths } from '../helpers/softhsm.js';

export const pki = pkiPaths();

export function openssl(args: string[], input?: Uint8Array): Buffer {
  return execFileSync('openssl', args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input === undefined ? {} : { input }),
  });
}

/**
 * A CMS SignedData over the file `content`, made by `openssl cms -sign -binary` with each signer's
 * certificate and key (one SignerInfo each): digest `md` (sha256), DER, the content attached unless
 * `detached`; `extra` flags (such as -noattr) go last.
 */
export function opensslCmsSign(
  content: string,
  signers: readonly Pick<Issued, 'certPath' | 'keyPath'>[],
  o: {
    md?: 'sha256' | 'sha1';
    outform?: 'DER' | 'PEM';
    detached?: boolean;
    extra?: readonly string[];
  } = {},
): Buffer {
  return openssl([
    ...['cms', '-sign', '-binary', '-in', content],
    ...signers.flatMap((s) => ['-signer', s.certPath, '-inkey', s.keyPath]),
    ...['-md', o.md ?? 'sha256', '-outform', o.outform ?? 'DER'],
    ...(o.detached === true ? [] : ['-nodetach']),
    ...(o.extra ?? []),
  ]);
}

export function certFile(path: string): CertificateInfo {
  return parseCertificate(pemToDer(readFileSync(path, 'utf8'), ['CERTIFICATE']));
}

export const root = (): CertificateInfo => certFile(pki.root);
export const signCa = (): CertificateInfo => certFile(pki.signCa);
export const authCa = (): CertificateInfo => certFile(pki.authCa);

/** A node:crypto RSA PKCS#1 v1.5 signer standing in for the card. */
export function keySigner(keyPem: string): RsaSigner {
  return async (data, hash) => nodeSign(hash === 'SHA-1' ? 'sha1' : 'sha256', data, keyPem);
}

const gt = (ms: number): string =>
  new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
const DAY = 86_400_000;

export interface Issued {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
  certDer: Uint8Array;
  info: CertificateInfo;
}

/** A temporary CA database over the test sign-ca (or another CA whose key is in pki/db). */
export class TempCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'rxsign-cms-ca-'));
  readonly cfg: string;
  readonly ca: 'sign-ca' | 'auth-ca';
  private n = 0;

  constructor(
    ca: 'sign-ca' | 'auth-ca' = 'sign-ca',
    certPath = ca === 'sign-ca' ? pki.signCa : pki.authCa,
    keyPath = pki.caKey(ca),
  ) {
    this.ca = ca;
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(
      join(this.dir, 'serial'),
      `${(0x3a000000 + Math.floor(Math.random() * 0xffffff)).toString(16).toUpperCase()}\n`,
    );
    writeFileSync(join(this.dir, 'crlnumber'), '2000\n');
    this.cfg = join(this.dir, 'ca.cnf');
    writeFileSync(
      this.cfg,
      `[ ca ]\ndefault_ca = this\n[ this ]\ndir = ${this.dir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\ncertificate = ${certPath}\nprivate_key = ${keyPath}\ndefault_md = sha256\ndefault_crl_days = 30\npolicy = anything\nunique_subject = no\ncopy_extensions = none\n[ anything ]\norganizationName = optional\norganizationalUnitName = optional\ncommonName = supplied\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n`,
    );
  }

  issue(
    cn: string,
    o: { fromDays?: number; toDays?: number; ku?: string; bits?: number; md?: string } = {},
  ): Issued {
    const name = `c${this.n++}`;
    const keyPath = join(this.dir, `${name}.key`);
    const certPath = join(this.dir, `${name}.pem`);
    openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      `rsa_keygen_bits:${o.bits ?? 2048}`,
      '-out',
      keyPath,
    ]);
    const csr = join(this.dir, `${name}.csr`);
    openssl(['req', '-new', '-key', keyPath, '-subj', `/O=nhs/OU=People/CN=${cn}`, '-out', csr]);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(
      ext,
      `basicConstraints = CA:false\nkeyUsage = critical, ${o.ku ?? 'nonRepudiation'}\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\ncrlDistributionPoints = URI:http://crl.rxsign.test/${this.ca}.crl\n`,
    );
    const now = Date.now();
    openssl([
      'ca',
      '-batch',
      '-config',
      this.cfg,
      '-in',
      csr,
      '-out',
      certPath,
      '-notext',
      '-md',
      o.md ?? 'sha256',
      '-startdate',
      gt(now + (o.fromDays ?? -1) * DAY),
      '-enddate',
      gt(now + (o.toDays ?? 365) * DAY),
      '-extfile',
      ext,
    ]);
    const certPem = readFileSync(certPath, 'utf8');
    const certDer = pemToDer(certPem, ['CERTIFICATE']);
    return {
      certPath,
      keyPath,
      certPem,
      keyPem: readFileSync(keyPath, 'utf8'),
      certDer,
      info: parseCertificate(certDer),
    };
  }

  revoke(certPath: string, reason: string): void {
    openssl(['ca', '-batch', '-config', this.cfg, '-revoke', certPath, '-crl_reason', reason]);
  }

  /** A DER CRL of this temporary database, signed by the CA key. */
  crl(): Uint8Array {
    const pem = join(this.dir, `crl${this.n++}.pem`);
    openssl(['ca', '-batch', '-config', this.cfg, '-gencrl', '-crlexts', 'crl_ext', '-out', pem]);
    return openssl(['crl', '-in', pem, '-outform', 'DER']);
  }

  file(name: string, data: Uint8Array | string): string {
    mkdirSync(this.dir, { recursive: true });
    const p = join(this.dir, name);
    writeFileSync(p, data);
    return p;
  }
}
