/**
 * What `requestToSign` does once the request is read: the same path as the agent's `/api/v1/sign/eps`
 * (docs/cm.md §2–3, docs/signing.md).
 *
 * Rules:
 * - no card (or no signing service) → the "No X.509 Signing certificate found" HubResponse at once;
 * - the user decides: the origin's approval (the agent's page: Allow once / Always allow / Deny) comes
 *   first; a denial is a DECLINED HubResponse, and nothing reaches the card; when too many questions
 *   already wait for the user, BUSY (not DECLINED: the user refused nothing);
 * - with no live card session the hub waits, within its deadline, for the user to log in on the agent's
 *   page (the PIN is never taken from a web page);
 * - signing goes through the signing service (policy, PIN policy, role rule, audit, self-check); a batch is
 *   signed item by item, bad items land in `failed_signatures` and the good ones are still returned; a
 *   batch of which nothing was signed is a refusal (non-zero `status_code`: NO_CARD when the card went),
 *   never a status 0 with no signatures, which NHS's library reports only as "Invalid response";
 * - the `signal` (the hub's deadline, or the page going away) cancels a wait for the user and withdraws
 *   the question; a signature already made is audited.
 */
import type { SignRequest, HubResponse } from './request.js';
import { hubRefusal, hubSuccess } from './request.js';

export type ApprovalAnswer = 'allow' | 'deny' | 'timeout' | 'busy';

export interface HubDeps {
  /** A card to sign with is present, and the signing service is on. */
  readonly cardPresent: () => boolean;
  /**
   * The user's decision for `origin` asking to sign `count` prescriptions; with the per-signature PIN policy,
   * the card PIN the user typed with it on the agent page (never from the calling page).
   */
  readonly approve: (
    origin: string,
    what: { count: number; ids: readonly string[] },
    signal: AbortSignal,
  ) => Promise<{ answer: ApprovalAnswer; pin?: string }>;
  /** Resolves with the session's UID and selected role once the user is logged in; undefined on abort. */
  readonly waitForSession: (
    signal: AbortSignal,
  ) => Promise<{ uid: string; roleId?: string } | undefined>;
  /** The signing service's EPS batch. */
  readonly signBatch: (
    request: { payloads: readonly { id: string; payload: string }[]; algorithm: string },
    caller: { client: string; uid: string; role?: string; pin?: string },
  ) => Promise<{
    certificate: string;
    signatures: { id: string; signature: string }[];
    failed_signatures: { id: string; code: string; message: string }[];
  }>;
  readonly now?: () => Date;
}

const NO_CARD_CODES = new Set([
  'ERR_SIGN_NO_SIGNING_CERT',
  'ERR_SIGN_NO_PRIVATE_KEY',
  'ERR_SIGN_CARD_REMOVED',
  'ERR_PKCS11_TOKEN_NOT_FOUND',
  'ERR_PKCS11_CARD_REMOVED',
]);

/** The hub's `requestToSign`, from the agent's parts. */
export function hubRequestHandler(
  deps: HubDeps,
): (request: SignRequest, origin: string, signal: AbortSignal) => Promise<HubResponse> {
  const now = deps.now ?? (() => new Date());
  return async (request, origin, signal) => {
    if (!deps.cardPresent()) {
      return hubRefusal('NO_CARD', now());
    }
    const ids = request.payloads.map((p) => p.id);
    const { answer, pin } = await deps.approve(origin, { count: ids.length, ids }, signal);
    if (answer === 'deny') {
      return hubRefusal('DECLINED', now());
    }
    if (answer === 'busy') {
      return hubRefusal('BUSY', now());
    }
    if (answer === 'timeout' || signal.aborted) {
      return hubRefusal('TIMEOUT', now());
    }
    const session = await deps.waitForSession(signal);
    if (!session || signal.aborted) {
      return hubRefusal('TIMEOUT', now());
    }
    try {
      const result = await deps.signBatch(
        { payloads: request.payloads, algorithm: request.algorithm },
        {
          client: origin,
          uid: session.uid,
          ...(session.roleId !== undefined ? { role: session.roleId } : {}),
          ...(pin !== undefined ? { pin } : {}),
        },
      );
      if (result.signatures.length === 0) {
        const gone = result.failed_signatures.some((f) => NO_CARD_CODES.has(f.code));
        return {
          ...hubRefusal(gone ? 'NO_CARD' : 'SIGNING_FAILED', now()),
          failed_signatures: hubSuccess(result, now()).failed_signatures,
        };
      }
      return hubSuccess(result, now());
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return hubRefusal(
        typeof code === 'string' && NO_CARD_CODES.has(code) ? 'NO_CARD' : 'SIGNING_FAILED',
        now(),
      );
    }
  };
}
