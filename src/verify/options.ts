/**
 * Options of verification. Rules:
 * - trust comes only from the configured anchors (plus configured/embedded intermediates as an untrusted pool);
 * - revocation 'require' (default) fails closed: missing revocation data → INDETERMINATE/TRY_LATER;
 * - SHA-1 and RSA below 2048 bits fail with CRYPTO_CONSTRAINTS_FAILURE unless configured.
 */
import type { CertificateInfo, CrlInfo, RevocationPolicy } from '../cms/index.js';

export type { RevocationPolicy };

/** Fetches a CRL by URL; `undefined` when unavailable. A returned buffer is parsed once: do not change it afterwards. */
export type CrlFetch = (url: string) => Promise<Uint8Array | undefined>;

export interface VerifierOptions {
  /** Trust anchors (self-signed roots, or any certificate the caller decides to trust as is). */
  readonly anchors?: readonly CertificateInfo[];
  /** Candidate intermediates (untrusted until a path to an anchor verifies). */
  readonly intermediates?: readonly CertificateInfo[];
  /** CRLs and ARLs; each is used only when its signature verifies with its issuer's key. */
  readonly crls?: readonly CrlInfo[];
  /** Default 'require'. */
  readonly revocation?: RevocationPolicy;
  /** CRL download for distribution-point URLs; default: HTTP(S) with a timeout and a cache; `false` = never fetch. */
  readonly fetchCrl?: CrlFetch | false;
  /** Timeout of one CRL download (default 5000 ms). */
  readonly crlTimeoutMs?: number;
  /** How long a downloaded CRL, and a path result, is reused (default 300000 ms). */
  readonly cacheMs?: number;
  readonly allowSha1?: boolean;
  /** Default 2048. */
  readonly minRsaBits?: number;
  /** Wall clock (CRL freshness, cache expiry); default `() => new Date()`. */
  readonly now?: () => Date;
  /** Largest XML document (default 10 MiB) and JSON document (same). */
  readonly maxBytes?: number;
}

/** Per-document options. */
export interface VerifyCallOptions {
  /** Evaluate the certificates at this time instead of the signing time. */
  readonly at?: Date;
  /** CMS: the detached content. FHIR: the HL7 v3 prescription the signature is over. */
  readonly detachedContent?: Uint8Array;
}
