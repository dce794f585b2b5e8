/**
 * CRL download for distribution-point URLs. Rules:
 * - http: and https: URLs only (the LDAP-style and other schemes are "unavailable");
 * - one request at a time per URL, a timeout per request (default 5 s), at most 10 MiB;
 * - results, including failures, are cached per URL (`cacheMs`, failures for at most 60 s);
 * - failures are `undefined` (the revocation policy decides), never an exception.
 */
import type { CrlFetch } from './options.js';

const MAX_CRL_BYTES = 10 * 1024 * 1024;

/** The HTTP GET the fetcher uses (injectable for tests). */
export type HttpGet = (url: string, signal: AbortSignal) => Promise<Uint8Array | undefined>;

const defaultGet: HttpGet = async (url, signal) => {
  const res = await fetch(url, { signal, redirect: 'error' });
  const length = Number(res.headers.get('content-length') ?? '0');
  if (!res.ok || res.body === null || length > MAX_CRL_BYTES) {
    await res.body?.cancel();
    return undefined;
  }
  // Counted while read: a body without content-length (chunked) stops at the limit, not at the timeout.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.length;
    if (size > MAX_CRL_BYTES) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(r.value);
  }
  return new Uint8Array(Buffer.concat(chunks));
};

/**
 * Creates a caching CRL fetcher.
 *
 * @example
 * ```ts
 * const fetchCrl = crlFetcher({ timeoutMs: 5000, cacheMs: 300_000 });
 * const der = await fetchCrl('http://crl.nhs.uk/int/g2/sign/NHSINTsignG2_c1.crl');
 * ```
 */
export function crlFetcher(
  o: { timeoutMs?: number; cacheMs?: number; get?: HttpGet; now?: () => number } = {},
): CrlFetch {
  const cache = new Map<
    string,
    { at: number; ok: boolean; value: Promise<Uint8Array | undefined> }
  >();
  const now = o.now ?? Date.now;
  const cacheMs = o.cacheMs ?? 300_000;
  const get = o.get ?? defaultGet;
  return async (url) => {
    if (!/^https?:\/\//i.test(url)) {
      return undefined;
    }
    const hit = cache.get(url);
    if (hit !== undefined && now() - hit.at < (hit.ok ? cacheMs : Math.min(cacheMs, 60_000))) {
      return hit.value;
    }
    const entry = {
      at: now(),
      ok: true,
      value: Promise.resolve<Uint8Array | undefined>(undefined),
    };
    entry.value = get(url, AbortSignal.timeout(o.timeoutMs ?? 5000)).then(
      (v) => {
        entry.ok = v !== undefined;
        return v;
      },
      () => {
        entry.ok = false;
        return undefined;
      },
    );
    cache.set(url, entry);
    if (cache.size > 256) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) {
        cache.delete(oldest);
      }
    }
    return entry.value;
  };
}
