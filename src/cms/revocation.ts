/**
 * Revocation status of one certificate from CRLs (internal step of path validation).
 *
 * Rules:
 * - only CRLs whose issuer matches the certificate's issuer (name, AKID/SKID) AND whose signature verifies with
 *   that issuer's key are used; a matching CRL with a bad signature is reported and ignored;
 * - a CRL whose nextUpdate is before `now` is stale and not used (RFC 5280 §6.3.3 (a)(2));
 * - CRLs come first from the caller's list, then from the certificate's CRL distribution point URLs through the
 *   injected `fetchCrl` (timeouts and caching are the caller's; a buffer it returns is parsed once, so it must
 *   not change afterwards); a fetch or parse error means "unavailable";
 * - the EPS reason/date rule of crl.ts decides revoked/not revoked at the signing time;
 * - 'require' (default): no usable CRL → indeterminate TRY_LATER (fail closed); 'if-available' → warning;
 *   'off' → skipped.
 */
import type { CertificateInfo } from './certificate.js';
import {
  crlMatchesIssuer,
  parseCrl,
  revocationStatus,
  verifyCrlSignature,
  type CrlInfo,
} from './crl.js';
import type { Check } from './report.js';

export type RevocationPolicy = 'require' | 'if-available' | 'off';

export interface RevocationContext {
  readonly crls: readonly CrlInfo[];
  readonly policy: RevocationPolicy;
  readonly at: Date;
  readonly now: Date;
  readonly fetchCrl: ((url: string) => Promise<Uint8Array | undefined>) | undefined;
}

/**
 * Parse outcomes by fetched buffer: a caching fetcher (src/verify crl-fetch.ts) hands out the same buffer for
 * every document until it downloads again, and parseCrl's own cache would hash all of a large CRL per document
 * to find its entry. The fetcher's buffers are its own and are not changed after they are returned.
 */
const fetchedCrls = new WeakMap<Uint8Array, CrlInfo | 'malformed'>();

function parseFetched(bytes: Uint8Array): CrlInfo | undefined {
  let crl = fetchedCrls.get(bytes);
  if (crl === undefined) {
    try {
      crl = parseCrl(bytes);
    } catch {
      crl = 'malformed';
    }
    fetchedCrls.set(bytes, crl);
  }
  return crl === 'malformed' ? undefined : crl;
}

async function fetched(cert: CertificateInfo, ctx: RevocationContext): Promise<CrlInfo[]> {
  const out: CrlInfo[] = [];
  if (ctx.fetchCrl === undefined) {
    return out;
  }
  for (const url of cert.crlDistributionUrls) {
    // A fetch error or a malformed CRL is "unavailable": the caller's policy below decides what that means.
    let bytes: Uint8Array | undefined;
    try {
      bytes = await ctx.fetchCrl(url);
    } catch {
      bytes = undefined;
    }
    const crl = bytes === undefined ? undefined : parseFetched(bytes);
    if (crl !== undefined) {
      out.push(crl);
    }
  }
  return out;
}

/** One check (`path.revocation[index]`) for `cert` issued by `issuer`. */
export async function revocationCheck(
  cert: CertificateInfo,
  issuer: CertificateInfo,
  index: number,
  ctx: RevocationContext,
): Promise<Check[]> {
  const id = `path.revocation[${index}]`;
  const title = index === 0 ? 'signer certificate not revoked' : 'CA certificate not revoked';
  if (ctx.policy === 'off') {
    return [{ id, title, status: 'skipped', message: 'revocation checking is off' }];
  }
  const notes: Check[] = [];
  const usable = (list: readonly CrlInfo[]): CrlInfo[] =>
    list.filter((crl) => {
      if (!crlMatchesIssuer(crl, issuer)) {
        return false;
      }
      if (!verifyCrlSignature(crl, issuer)) {
        notes.push({
          id: `${id}.crl-signature`,
          title: 'CRL signature',
          status: 'warning',
          message: 'a CRL with a bad signature was ignored',
        });
        return false;
      }
      if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < ctx.now.getTime()) {
        notes.push({
          id: `${id}.crl-fresh`,
          title: 'CRL freshness',
          status: 'warning',
          message: 'a stale CRL was ignored',
        });
        return false;
      }
      return true;
    });
  let crls = usable(ctx.crls);
  if (crls.length === 0) {
    crls = usable(await fetched(cert, ctx));
  }
  if (crls.length === 0) {
    const status = ctx.policy === 'require' ? 'indeterminate' : 'warning';
    return [
      ...notes,
      { id, title, status, subIndication: 'TRY_LATER', message: 'no revocation data available' },
    ];
  }
  for (const crl of crls) {
    const { revoked, entry } = revocationStatus(crl, cert.serialHex, ctx.at);
    if (revoked) {
      const reason = entry?.reason === undefined ? 'no reason code' : `reason ${entry.reason}`;
      return [
        ...notes,
        { id, title, status: 'failed', subIndication: 'REVOKED', message: `revoked (${reason})` },
      ];
    }
  }
  return [...notes, { id, title, status: 'passed' }];
}
