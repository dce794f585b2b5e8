/**
 * The CIS smartcard login, as a table of steps (docs/protocol/cis-login.md §1):
 *
 *   1. card login        C_Login with the PIN (tried once, through the PIN guard: docs/pin.md)
 *   2. find auth cert    the authentication certificate paired with a private key; UID = its subject CN
 *   3. authactivate      a challenge and the broker's signature over it
 *   4. sign challenge    CMS SignedData over the decoded challenge, no signed attributes, SHA-1 (or SHA-256)
 *   5. authvalidate      the S/MIME-wrapped response; the reply carries sso_ticket, cn and the roles
 *   6. parse roles       lenient parser that survives the real capture (raw `&`, commas in org names)
 *
 * Role selection and the session itself are the agent's (agent.ts).
 */
import { randomBytes } from 'node:crypto';
import { parseCertificate } from '../cms/certificate.js';
import { createSigningIdentity, signChallenge } from '../cms/sign.js';
import { isServiceError } from '../errors.js';
import type { TokenPort, TokenSelector } from '../pkcs11/index.js';
import { authError } from './errors.js';
import type { SsbClient } from './ssb-client.js';
import { gpParamMap, type ClientIdentity } from './wire/gpobject.js';
import { buildAuthResponse, strictBase64Decode } from './wire/response.js';
import { parseRoles, type AuthRole } from './wire/roles.js';
import { isSsoTicket } from './wire/ticket.js';

export interface LoginResult {
  readonly uid: string;
  readonly name: string;
  readonly ticket: string;
  readonly roles: readonly AuthRole[];
  /** Minutes, as the broker sends them (Sun Access Manager units). */
  readonly maxSessionMinutes: number;
  readonly idleMinutes: number;
}

export interface LoginContext {
  readonly port: TokenPort;
  readonly ssb: SsbClient;
  readonly token: TokenSelector;
  /** Step 1: logs the card in (the agent passes its PIN guard's login; the PIN never reaches this module). */
  readonly cardLogin: () => Promise<void>;
  readonly hash: 'SHA-1' | 'SHA-256';
  readonly identity: ClientIdentity;
  readonly signal: AbortSignal;
}

/** A fresh client identity for one login (§1.2: 10-char session id, 8-char device id). */
export function newClientIdentity(): ClientIdentity {
  const alnum = (n: number) =>
    [...randomBytes(n)]
      .map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62])
      .join('');
  return {
    logSessionId: alnum(10),
    deviceId: randomBytes(4).toString('hex'),
    clientIp: '127.0.0.1',
  };
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw isServiceError(signal.reason) ? signal.reason : authError('ERR_USER_ABORT');
  }
}

/** Runs steps 1–6. The caller logs out at the broker if anything after step 5 fails. */
export async function runLogin(ctx: LoginContext): Promise<LoginResult> {
  // 1. card login
  await ctx.cardLogin();
  checkAborted(ctx.signal);

  // 2. the authentication certificate
  const certs = await ctx.port.certificates(ctx.token);
  const auth = certs.find((c) => c.purpose === 'authentication' && c.hasPrivateKey);
  if (!auth) {
    throw authError('ERR_NO_CERT_FOUND');
  }
  const cert = parseCertificate(auth.der);
  const uid = cert.subjectCN ?? '';
  checkAborted(ctx.signal);

  // 3. authactivate
  const { challenge, signature } = await ctx.ssb.activate(ctx.identity, ctx.signal);
  const challengeBytes = strictBase64Decode(challenge);
  if (!challengeBytes) {
    throw authError('ERR_AUTHDATA_SYNTAX_ERROR', { detail: { reason: 'challenge is not base64' } });
  }

  // 4. sign the decoded challenge with the card's authentication key
  const identity = createSigningIdentity(auth.der);
  const cms = await signChallenge({
    challenge: challengeBytes,
    identity,
    hash: ctx.hash,
    signer: (data, hash) =>
      ctx.port.sign(ctx.token, {
        keyId: auth.id,
        mechanism: hash === 'SHA-1' ? 'SHA1_RSA_PKCS' : 'SHA256_RSA_PKCS',
        data,
      }),
  });
  checkAborted(ctx.signal);

  // 5. authvalidate
  const params = await ctx.ssb.validate(
    { ...ctx.identity, challenge, signature, uid, response: buildAuthResponse(cms) },
    ctx.signal,
  );
  const m = gpParamMap(params);
  const ticket = m.get('sso_ticket');
  if (!ticket) {
    const error = m.get('error') ?? 'UNKNOWN';
    throw authError(error === 'UNKNOWN_USER' ? 'ERR_USER_NOT_VALID' : 'ERR_AUTHENTICATION_FAILED', {
      detail: { brokerError: error },
    });
  }
  // Never stored or passed on unchecked (wire/ticket.ts); the detail names the rule, never the value.
  if (!isSsoTicket(ticket)) {
    throw authError('ERR_AUTHDATA_SYNTAX_ERROR', { detail: { reason: 'sso_ticket' } });
  }

  // 6. roles
  let roles: AuthRole[];
  try {
    roles = parseRoles(params);
  } catch (cause) {
    throw authError('ERR_AUTHDATA_SYNTAX_ERROR', { cause });
  }
  const minutes = (name: string, dflt: number) => {
    const v = Number(m.get(name));
    return Number.isFinite(v) && v > 0 ? v : dflt;
  };
  return {
    uid,
    name: m.get('cn') ?? uid,
    ticket,
    roles,
    maxSessionMinutes: minutes('sso_max_session_time', 600),
    idleMinutes: minutes('sso_session_time', 600),
  };
}
