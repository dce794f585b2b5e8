/**
 * The simulator's check of a card assertion (the smartcard leg: rxsign's own protocol, docs/cis2-sign-in.md), with
 * the Security Broker simulator's card certificate rules (steps 8 and 9: cardCertificateRefusal, from the
 * spine-sim folder's surface):
 *
 * | # | check                                                                  | refusal              |
 * |---|------------------------------------------------------------------------|----------------------|
 * | 1 | compact JWS, header `{alg: RS256, typ, x5c}` only, claims of the shape  | MALFORMED_ASSERTION  |
 * | 2 | RS256 signature verifies with x5c[0] (jose)                            | BAD_SIGNATURE        |
 * | 3 | `nonce` = the nonce this sign-in's page issued (single use)            | NONCE_MISMATCH       |
 * | 4 | `aud` = the simulator's issuer                                         | AUDIENCE_MISMATCH    |
 * | 5 | `origin` = the simulator's own web origin                              | ORIGIN_MISMATCH      |
 * | 6 | `iat` ≤ now + skew, `exp` > now, `exp − iat` ≤ 300 s                    | ASSERTION_EXPIRED    |
 * | 7 | `auth_time` ≥ the sign-in's floor (prompt=login, max_age)              | FRESH_LOGIN_REQUIRED |
 * | 8 | certificate keyUsage has digitalSignature                              | CERT_KEY_USAGE       |
 * | 9 | path to a trusted CA, validity, CRLs                                   | CERT_*               |
 * | 10| certificate CN = `uid` = `sub`                                         | UID_MISMATCH         |
 * | 11| user known; `selected_roleid` one of the user's roles                  | UNKNOWN_USER, ROLE_UNKNOWN |
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import { CARD_ASSERTION_ISS, CARD_ASSERTION_TYP, type CardAssertionClaims } from '../cis2/index.js';
import { parseCertificate, type CertificateInfo } from '../cms/index.js';
import {
  cardCertificateRefusal,
  type CardCertificateContext,
  type SimUser,
} from '../spine-sim/index.js';
import type { CardRefusalCode } from './errors.js';

/** A refused assertion (internal: it becomes an `access_denied` sign-in error). */
export class CardRefused extends Error {
  readonly code: CardRefusalCode;
  constructor(code: CardRefusalCode, detail?: string) {
    super(detail ?? code);
    this.name = 'CardRefused';
    this.code = code;
  }
}

/** What the check needs; the certificate settings are `CardCertificateContext`'s (spine-sim). */
export interface CardCheckContext extends CardCertificateContext {
  readonly users: ReadonlyMap<string, SimUser>;
  /** The issuer: the only accepted `aud`. */
  readonly audience: string;
  /** The simulator's own web origin: the only accepted `origin`. */
  readonly origin: string;
  /** Unix ms. */
  readonly now: () => number;
}

export interface CardCheckExpectation {
  readonly nonce: string;
  /** Unix seconds: the card login must be at or after this (0 = any). */
  readonly authAfter: number;
}

const MAX_LIFETIME_S = 300;
const SKEW_S = 30;

const headerSchema = z
  .object({
    alg: z.literal('RS256'),
    typ: z.literal(CARD_ASSERTION_TYP),
    x5c: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9+/]+={0,2}$/)
          .max(16_384),
      )
      .min(1)
      .max(8),
  })
  .strict();

const claimsSchema = z
  .object({
    iss: z.literal(CARD_ASSERTION_ISS),
    sub: z.string().regex(/^\d{1,32}$/),
    uid: z.string().regex(/^\d{1,32}$/),
    selected_roleid: z.string().regex(/^\d{1,32}$/),
    nonce: z.string().max(256),
    aud: z.string().max(2048),
    origin: z.string().max(2048),
    auth_time: z.number().int().nonnegative(),
    card_sid: z.string().regex(/^[A-Za-z0-9_-]{8,128}$/),
    iat: z.number().int().nonnegative(),
    exp: z.number().int().nonnegative(),
    jti: z.string().min(1).max(128),
  })
  .strict();

/** What a verified assertion yields. */
export interface CheckedCard {
  readonly user: SimUser;
  readonly claims: CardAssertionClaims;
  readonly certificate: CertificateInfo;
}

/**
 * Runs the checks; returns the user and claims, or throws {@link CardRefused}.
 *
 * @example
 * ```ts
 * const { user, claims } = await checkCardAssertion(jws, ctx, { nonce, authAfter: 0 });
 * ```
 */
export async function checkCardAssertion(
  jws: string,
  ctx: CardCheckContext,
  expect: CardCheckExpectation,
): Promise<CheckedCard> {
  if (jws.length > 65_536 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jws)) {
    throw new CardRefused('MALFORMED_ASSERTION', 'not a compact JWS');
  }
  let header: z.infer<typeof headerSchema>;
  let leaf: CertificateInfo;
  let chain: CertificateInfo[];
  let key: KeyObject;
  try {
    header = headerSchema.parse(decodeProtectedHeader(jws));
    chain = header.x5c.map((b64) => parseCertificate(new Uint8Array(Buffer.from(b64, 'base64'))));
    leaf = chain[0] as CertificateInfo;
    key = new X509Certificate(leaf.der).publicKey;
  } catch {
    throw new CardRefused('MALFORMED_ASSERTION', 'header or certificate');
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, { algorithms: ['RS256'] }));
  } catch {
    throw new CardRefused('BAD_SIGNATURE');
  }
  let claims: CardAssertionClaims;
  try {
    claims = claimsSchema.parse(
      JSON.parse(new TextDecoder().decode(payload)),
    ) as CardAssertionClaims;
  } catch {
    throw new CardRefused('MALFORMED_ASSERTION', 'claims');
  }
  if (claims.nonce !== expect.nonce) {
    throw new CardRefused('NONCE_MISMATCH');
  }
  if (claims.aud !== ctx.audience) {
    throw new CardRefused('AUDIENCE_MISMATCH');
  }
  if (claims.origin !== ctx.origin) {
    throw new CardRefused('ORIGIN_MISMATCH');
  }
  const nowMs = ctx.now();
  const now = Math.floor(nowMs / 1000);
  if (claims.iat > now + SKEW_S || claims.exp <= now || claims.exp - claims.iat > MAX_LIFETIME_S) {
    throw new CardRefused('ASSERTION_EXPIRED');
  }
  if (claims.auth_time < expect.authAfter || claims.auth_time > now + SKEW_S) {
    throw new CardRefused('FRESH_LOGIN_REQUIRED');
  }
  // The sent CAs are only candidates: path validation still needs a configured anchor.
  const refusal = await cardCertificateRefusal(leaf, ctx, { now: nowMs, sent: chain.slice(1) });
  if (refusal !== undefined) {
    throw new CardRefused(refusal.code, refusal.detail);
  }
  if (leaf.subjectCN !== claims.uid || claims.sub !== claims.uid) {
    throw new CardRefused('UID_MISMATCH');
  }
  const user = ctx.users.get(claims.uid);
  if (user === undefined) {
    throw new CardRefused('UNKNOWN_USER');
  }
  if (!user.roles.some((r) => r.id === claims.selected_roleid)) {
    throw new CardRefused('ROLE_UNKNOWN');
  }
  return { user, claims, certificate: leaf };
}
