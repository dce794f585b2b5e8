/**
 * The simulator's trust configuration: CA certificates (`--trust DIR`) and CRLs (`--crl DIR`).
 *
 * Rules this file enforces:
 * - Every regular file in the trust folder is read; PEM files may hold several certificates, DER files one.
 *   A file that is not a certificate makes the folder invalid (fail fast, no silent skipping).
 * - Self-issued certificates (subject = issuer, and SKID = AKID where both exist) are anchors; the others are
 *   intermediates, usable only when they chain to an anchor (path validation decides).
 * - At least one anchor is required.
 * - Every regular file in the CRL folder must parse as a CRL (PEM or DER); signatures and freshness are checked
 *   per use by path validation, against the CA that issued them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseCertificate,
  pemBlocks,
  type CertificateInfo,
  parseCrl,
  type CrlInfo,
} from '../cms/index.js';
import { simError } from './errors.js';

/** Anchors and intermediates. */
export interface TrustStore {
  readonly anchors: readonly CertificateInfo[];
  readonly intermediates: readonly CertificateInfo[];
}

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isFile());
}

function isSelfIssued(c: CertificateInfo): boolean {
  if (c.subject !== c.issuer) {
    return false;
  }
  return (
    c.subjectKeyId === undefined ||
    c.authorityKeyId === undefined ||
    c.subjectKeyId === c.authorityKeyId
  );
}

/**
 * Splits CA certificates into anchors (self-issued) and intermediates.
 *
 * @example
 * ```ts
 * const trust = trustFromCertificates([parseCertificate(rootDer), parseCertificate(subCaDer)]);
 * ```
 */
export function trustFromCertificates(certs: readonly CertificateInfo[]): TrustStore {
  return {
    anchors: certs.filter(isSelfIssued),
    intermediates: certs.filter((c) => !isSelfIssued(c)),
  };
}

/**
 * Reads a folder of PEM/DER CA certificates. Throws `ERR_SPINE_SIM_TRUST_DIR`.
 *
 * @example
 * ```ts
 * const trust = loadTrustDir('pki/trust');
 * ```
 */
export function loadTrustDir(dir: string): TrustStore {
  const certs: CertificateInfo[] = [];
  try {
    for (const path of files(dir)) {
      const bytes = readFileSync(path);
      const text = bytes.toString('latin1');
      const ders = /-----BEGIN /.test(text)
        ? pemBlocks(text, ['CERTIFICATE'])
        : [new Uint8Array(bytes)];
      for (const der of ders) {
        certs.push(parseCertificate(der));
      }
    }
  } catch (cause) {
    throw simError('ERR_SPINE_SIM_TRUST_DIR', { cause, detail: { dir } });
  }
  const trust = trustFromCertificates(certs);
  if (trust.anchors.length === 0) {
    throw simError('ERR_SPINE_SIM_TRUST_DIR', { detail: { dir, reason: 'no self-signed CA' } });
  }
  return trust;
}

/**
 * Reads a folder of PEM/DER CRLs. Throws `ERR_SPINE_SIM_CRL_DIR`.
 *
 * @example
 * ```ts
 * const crls = loadCrlDir('pki/crl');
 * ```
 */
export function loadCrlDir(dir: string): CrlInfo[] {
  try {
    return files(dir).map((path) => parseCrl(new Uint8Array(readFileSync(path))));
  } catch (cause) {
    throw simError('ERR_SPINE_SIM_CRL_DIR', { cause, detail: { dir } });
  }
}
