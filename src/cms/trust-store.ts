/**
 * Loads a trust store from folders. Rules:
 * - a trust folder holds certificates (PEM, one or more blocks, or DER); self-issued ones (subject = issuer)
 *   are trust anchors, and so is a CA certificate whose issuer is not in the folders (a sub-CA configured
 *   on its own, as EPS configures its signing sub-CAs); the others are intermediates (untrusted until a
 *   path verifies);
 * - a CRL folder holds CRLs/ARLs (DER or PEM); their signatures are checked when used, not here;
 * - unreadable files are reported by name in `rejected` (never their content) and otherwise ignored; a
 *   caller that must fail closed (the signing policy) refuses a store with any rejected file.
 *
 * One loader for verification (src/verify) and the signing policy (src/signing).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCertificate, pemBlocks, type CertificateInfo } from './certificate.js';
import { parseCrl, type CrlInfo } from './crl.js';

export interface TrustStore {
  readonly anchors: CertificateInfo[];
  readonly intermediates: CertificateInfo[];
  readonly crls: CrlInfo[];
  readonly rejected: string[];
}

/** The certificates of one file: PEM (one or more CERTIFICATE blocks) or a single DER certificate. */
export function certificatesOf(bytes: Uint8Array): CertificateInfo[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN')) {
    return pemBlocks(text, ['CERTIFICATE']).map((der) => parseCertificate(der));
  }
  return [parseCertificate(bytes)];
}

/** The regular files of `dir`; an entry that cannot be stat'ed (a dangling symlink) goes to `rejected`. */
async function files(dir: string, rejected: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    // stat follows symlinks (c_rehash-style folders).
    const st = await stat(path).catch(() => undefined);
    if (st === undefined) {
      rejected.push(path);
    } else if (st.isFile()) {
      out.push(path);
    }
  }
  return out;
}

/**
 * @example
 * ```ts
 * const store = await loadTrustStore({ trustDirs: ['/etc/rxsign/trust'], crlDirs: ['/etc/rxsign/crl'] });
 * const verifier = createVerifier({ ...store });
 * ```
 */
export async function loadTrustStore(o: {
  trustDirs?: readonly string[];
  crlDirs?: readonly string[];
}): Promise<TrustStore> {
  const store: TrustStore = { anchors: [], intermediates: [], crls: [], rejected: [] };
  for (const dir of o.trustDirs ?? []) {
    for (const f of await files(dir, store.rejected)) {
      try {
        for (const c of certificatesOf(await readFile(f))) {
          (c.subject === c.issuer ? store.anchors : store.intermediates).push(c);
        }
      } catch {
        store.rejected.push(f);
      }
    }
  }
  // A sub-CA whose issuer is not configured is trusted as configured (RFC 5280 §6.1.1 (d)).
  const subjects = new Set([...store.anchors, ...store.intermediates].map((c) => c.subject));
  for (let i = store.intermediates.length - 1; i >= 0; i--) {
    const c = store.intermediates[i] as CertificateInfo;
    if (c.isCA && !subjects.has(c.issuer)) {
      store.anchors.push(c);
      store.intermediates.splice(i, 1);
    }
  }
  for (const dir of o.crlDirs ?? []) {
    for (const f of await files(dir, store.rejected)) {
      try {
        store.crls.push(parseCrl(await readFile(f)));
      } catch {
        store.rejected.push(f);
      }
    }
  }
  return store;
}
