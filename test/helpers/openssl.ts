// Independent cross-checks with the openssl CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-ossl-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl dgst -<hash> -verify` of an RSA PKCS#1 v1.5 signature with the public key of a PEM certificate. */
export function opensslVerify(
  certPem: string,
  data: Uint8Array,
  sig: Uint8Array,
  hash: 'sha256' | 'sha1',
): boolean {
  return withTmp((dir) => {
    const pub = execFileSync('openssl', ['x509', '-in', certPem, '-pubkey', '-noout']);
    writeFileSync(join(dir, 'pub.pem'), pub);
    writeFileSync(join(dir, 'data'), data);
    writeFileSync(join(dir, 'sig'), sig);
    try {
      const out = execFileSync(
        'openssl',
        [
          'dgst',
          `-${hash}`,
          '-verify',
          join(dir, 'pub.pem'),
          '-signature',
          join(dir, 'sig'),
          join(dir, 'data'),
        ],
        { stdio: 'pipe' },
      ).toString();
      return out.includes('Verified OK');
    } catch {
      return false;
    }
  });
}

/** `openssl pkeyutl -verify` of a signature over a precomputed digest. */
export function opensslVerifyDigest(
  certPem: string,
  digest: Uint8Array,
  sig: Uint8Array,
  hash: 'sha256' | 'sha1',
): boolean {
  return withTmp((dir) => {
    writeFileSync(
      join(dir, 'pub.pem'),
      execFileSync('openssl', ['x509', '-in', certPem, '-pubkey', '-noout']),
    );
    writeFileSync(join(dir, 'digest'), digest);
    writeFileSync(join(dir, 'sig'), sig);
    try {
      const out = execFileSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          join(dir, 'pub.pem'),
          '-pkeyopt',
          `digest:${hash}`,
          '-in',
          join(dir, 'digest'),
          '-sigfile',
          join(dir, 'sig'),
        ],
        { stdio: 'pipe' },
      ).toString();
      return out.includes('Signature Verified Successfully');
    } catch {
      return false;
    }
  });
}
