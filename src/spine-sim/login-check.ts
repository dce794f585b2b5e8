/**
 * The authvalidate checks, in order (docs/protocol/cis-login.md §1.4 "a realistic server would", §7):
 *
 * | # | check                                                      | refusal            |
 * |---|------------------------------------------------------------|--------------------|
 * | 1 | challenge, signature, uid, response present; service ok    | MALFORMED_REQUEST  |
 * | 2 | server signature (HMAC) over the challenge                 | BAD_CHALLENGE      |
 * | 3 | challenge timestamp within the freshness window            | STALE_CHALLENGE    |
 * | 4 | `response` decodes (base64 / S/MIME / base64)              | MALFORMED_REQUEST  |
 * | 5 | CMS signature verifies with the embedded certificate       | BAD_SIGNATURE      |
 * | 6 | eContent == decoded challenge                              | CHALLENGE_MISMATCH |
 * | 7 | certificate keyUsage allows digitalSignature               | CERT_KEY_USAGE     |
 * | 8 | path to a trusted CA, every signature, validity, CRLs      | CERT_*             |
 *
 * Steps 7 and 8 are the card certificate rules the CIS2 simulator shares (card-certificate.ts).
 * | 9 | certificate subject CN == `uid`                            | UID_MISMATCH       |
 * | 10| user known                                                 | UNKNOWN_USER       |
 */
import { decodeAuthResponse, constantEquals, verifyChallenge } from '../auth/index.js';
import { verifyChallengeCms } from '../cms/index.js';
import { isServiceError } from '../errors.js';
import { cardCertificateRefusal } from './card-certificate.js';
import type { SimContext } from './context.js';
import type { LoginRejectionCode } from './errors.js';
import type { SimUser } from './users.js';

/** A refused login (internal to the simulator: it becomes a gpOBJECT error reply). */
export class LoginRejected extends Error {
  readonly code: LoginRejectionCode;

  constructor(code: LoginRejectionCode, options: { cause?: unknown; detail?: string } = {}) {
    super(
      options.detail ?? code,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'LoginRejected';
    this.code = code;
  }
}

function required(params: ReadonlyMap<string, string>, name: string): string {
  const v = params.get(name);
  if (v === undefined || v === '') {
    throw new LoginRejected('MALFORMED_REQUEST', { detail: `missing ${name}` });
  }
  return v;
}

function codeOf(err: unknown): string {
  return isServiceError(err) ? err.code : 'unknown';
}

/**
 * Runs the checks on a parsed authvalidate request; returns the user or throws {@link LoginRejected}.
 *
 * @example
 * ```ts
 * const user = await checkLogin(gpParamMap(parseGpObject(body), { onDuplicate: 'throw' }), ctx);
 * ```
 */
export async function checkLogin(
  params: ReadonlyMap<string, string>,
  ctx: SimContext,
): Promise<SimUser> {
  const challenge = required(params, 'challenge');
  const signature = required(params, 'signature');
  const uid = required(params, 'uid');
  const response = required(params, 'response');
  const service = params.get('service');
  if (service !== undefined && service !== 'AUTHENTICATION') {
    throw new LoginRejected('MALFORMED_REQUEST', { detail: 'service' });
  }

  const now = ctx.now();
  let expected: Uint8Array;
  try {
    expected = verifyChallenge(ctx.serverKey, challenge, signature, {
      now,
      maxAgeMs: ctx.challengeMaxAgeMs,
    }).bytes;
  } catch (err) {
    throw new LoginRejected(
      codeOf(err) === 'ERR_WIRE_CHALLENGE_STALE' ? 'STALE_CHALLENGE' : 'BAD_CHALLENGE',
      { cause: err },
    );
  }

  let der: Uint8Array;
  try {
    der = decodeAuthResponse(response);
  } catch (err) {
    throw new LoginRejected('MALFORMED_REQUEST', { cause: err, detail: 'response encoding' });
  }

  let verified: ReturnType<typeof verifyChallengeCms>;
  try {
    verified = verifyChallengeCms(der);
  } catch (err) {
    const code = codeOf(err);
    const bad = code === 'ERR_CMS_SIGNATURE_INVALID' || code === 'ERR_CMS_UNSUPPORTED_ALGORITHM';
    throw new LoginRejected(bad ? 'BAD_SIGNATURE' : 'MALFORMED_REQUEST', {
      cause: err,
      detail: code,
    });
  }
  if (!constantEquals(verified.content, expected)) {
    throw new LoginRejected('CHALLENGE_MISMATCH');
  }

  const cert = verified.signerCertificate;
  const refusal = await cardCertificateRefusal(cert, ctx, { now });
  if (refusal !== undefined) {
    throw new LoginRejected(
      refusal.code,
      refusal.detail === undefined ? {} : { detail: refusal.detail },
    );
  }

  if (cert.subjectCN !== uid) {
    throw new LoginRejected('UID_MISMATCH');
  }
  const user = ctx.users.get(uid);
  if (user === undefined) {
    throw new LoginRejected('UNKNOWN_USER');
  }
  return user;
}
