/**
 * The card assertion: rxsign's own smartcard step for CIS2-style sign-in (docs/cis2-sign-in.md §"The card assertion").
 *
 * NHS has not published what the national CIS2 login page asks the local client for, so this is rxsign's
 * protocol, shared by the agent (which builds it) and the CIS2 simulator (which checks it):
 *
 * - a compact JWS (RFC 7515), header `{ alg: "RS256", typ: "rxsign-card-assertion+jwt", x5c: [leaf, …CAs] }`;
 * - claims `iss` (fixed), `sub` = `uid` = the card's UID (authentication certificate CN), `selected_roleid`,
 *   `nonce` and `aud` (from the login page), `origin` (the page's Origin header, as the browser sent it),
 *   `auth_time` (the agent's PIN login), `card_sid` (an opaque id of the agent's card session), `iat`, `exp`
 *   (at most {@link CARD_ASSERTION_LIFETIME_S} later) and `jti`;
 * - the RS256 signature over the JWS signing input is made by the card's AUTHENTICATION key
 *   (PKCS#11 `CKM_SHA256_RSA_PKCS`), never by a software key: the JWS is therefore assembled here by hand.
 *
 * Rules this file enforces: the header and claims are fixed shapes (nothing from the caller is copied
 * unchecked); the signer is a function of the signing input only, so the card is the one that signs.
 */
import { randomUUID } from 'node:crypto';
import { base64url } from 'jose';

export const CARD_ASSERTION_TYP = 'rxsign-card-assertion+jwt';
export const CARD_ASSERTION_ISS = 'rxsign-agent';
/** Seconds an assertion is valid for. */
export const CARD_ASSERTION_LIFETIME_S = 60;
/** The login page's nonce: 16 to 128 base64url characters. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export interface CardAssertionClaims {
  readonly iss: typeof CARD_ASSERTION_ISS;
  readonly sub: string;
  readonly uid: string;
  readonly selected_roleid: string;
  readonly nonce: string;
  readonly aud: string;
  readonly origin: string;
  readonly auth_time: number;
  readonly card_sid: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

export interface CardAssertionInput {
  readonly uid: string;
  readonly selectedRoleId: string;
  readonly nonce: string;
  readonly audience: string;
  readonly origin: string;
  /** Unix seconds of the PIN login that opened the card session. */
  readonly authTime: number;
  readonly cardSessionId: string;
  /** The authentication certificate first, then the CAs above it (DER). */
  readonly chain: readonly Uint8Array[];
  /** Unix ms. */
  readonly now: number;
  /** RSASSA-PKCS1-v1_5 with SHA-256 over `data`, made by the card. */
  readonly sign: (data: Uint8Array) => Promise<Uint8Array>;
}

const enc = new TextEncoder();

/**
 * Builds the compact JWS, signed by the card through `input.sign`.
 *
 * @example
 * ```ts
 * const jws = await buildCardAssertion({ ...input, sign: (data) =>
 *   port.sign(token, { keyId: '01', mechanism: 'SHA256_RSA_PKCS', data }) });
 * ```
 */
export async function buildCardAssertion(input: CardAssertionInput): Promise<string> {
  const iat = Math.floor(input.now / 1000);
  const header = {
    alg: 'RS256',
    typ: CARD_ASSERTION_TYP,
    x5c: input.chain.map((der) => Buffer.from(der).toString('base64')),
  };
  const claims: CardAssertionClaims = {
    iss: CARD_ASSERTION_ISS,
    sub: input.uid,
    uid: input.uid,
    selected_roleid: input.selectedRoleId,
    nonce: input.nonce,
    aud: input.audience,
    origin: input.origin,
    auth_time: input.authTime,
    card_sid: input.cardSessionId,
    iat,
    exp: iat + CARD_ASSERTION_LIFETIME_S,
    jti: randomUUID(),
  };
  const signingInput = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
  const signature = await input.sign(enc.encode(signingInput));
  return `${signingInput}.${base64url.encode(signature)}`;
}
