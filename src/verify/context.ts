/**
 * The trust context a Verifier hands to the flows: resolved options and a cached path validation. Rules:
 * - a path result is cached by (leaf fingerprint, evaluation time, extra intermediates) for `cacheMs`;
 *   indeterminate results are not cached (revocation data may arrive);
 * - the cache is bounded (1024 entries, oldest out first).
 */
import {
  type CertificateInfo,
  type CrlInfo,
  validateCertificatePath,
  type PathResult,
  type RevocationPolicy,
} from '../cms/index.js';
import { crlFetcher } from './crl-fetch.js';
import type { CrlFetch, VerifierOptions } from './options.js';

export interface TrustContext {
  readonly anchors: readonly CertificateInfo[];
  readonly intermediates: readonly CertificateInfo[];
  readonly crls: readonly CrlInfo[];
  readonly revocation: RevocationPolicy;
  readonly fetchCrl: CrlFetch | undefined;
  readonly allowSha1: boolean;
  readonly minRsaBits: number;
  readonly maxBytes: number;
  readonly now: () => Date;
  readonly path: (
    leaf: CertificateInfo,
    at: Date,
    extra?: readonly CertificateInfo[],
  ) => Promise<PathResult>;
}

const CACHE_MAX = 1024;

/** Resolves options once and creates the path cache. */
export function createTrustContext(o: VerifierOptions): TrustContext {
  const anchors = [...(o.anchors ?? [])];
  const intermediates = [...(o.intermediates ?? [])];
  const crls = [...(o.crls ?? [])];
  const cacheMs = o.cacheMs ?? 300_000;
  const now = o.now ?? (() => new Date());
  const fetchCrl =
    o.fetchCrl === false
      ? undefined
      : (o.fetchCrl ??
        crlFetcher({ timeoutMs: o.crlTimeoutMs ?? 5000, cacheMs, now: () => now().getTime() }));
  const revocation = o.revocation ?? 'require';
  const allowSha1 = o.allowSha1 ?? false;
  const minRsaBits = o.minRsaBits ?? 2048;
  const cache = new Map<string, { at: number; result: PathResult }>();
  const path = async (
    leaf: CertificateInfo,
    at: Date,
    extra: readonly CertificateInfo[] = [],
  ): Promise<PathResult> => {
    const key = `${leaf.fingerprintSha256}|${at.getTime()}|${extra.map((c) => c.fingerprintSha256).join(',')}`;
    const t = now().getTime();
    const hit = cache.get(key);
    if (hit !== undefined && t - hit.at < cacheMs) {
      return hit.result;
    }
    const result = await validateCertificatePath(leaf, {
      anchors,
      intermediates: [...intermediates, ...extra],
      crls,
      at,
      revocation,
      now,
      allowSha1,
      minRsaBits,
      ...(fetchCrl === undefined ? {} : { fetchCrl }),
    });
    if (result.status !== 'indeterminate') {
      cache.delete(key);
      cache.set(key, { at: t, result });
      if (cache.size > CACHE_MAX) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) {
          cache.delete(oldest);
        }
      }
    }
    return result;
  };
  return {
    anchors,
    intermediates,
    crls,
    revocation,
    fetchCrl,
    allowSha1,
    minRsaBits,
    maxBytes: o.maxBytes ?? 10 * 1024 * 1024,
    now,
    path,
  };
}
