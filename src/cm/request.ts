/**
 * `signingHub.requestToSign`: the request NHS Credential Management's browser library sends, and the
 * HubResponse it reads back (docs/cm.md §1, §3).
 *
 * Rules:
 * - the single argument is base64 (standard alphabet, padded) of UTF-8 JSON
 *   `{algorithm, requestType: 1, version: 1, flags: 0, payloads: [{id, payload}]}`; anything else is the
 *   "Failed to process inbound JSON request" HubResponse (status 0x53494703), never a hub exception;
 * - at most 250 payloads (the EPS batch limit), ids unique, printable and at most 256 characters;
 * - every answer is a HubResponse: `status_code` 0 with `certificate` (base64 DER), `signatures` and
 *   `failed_signatures` (id, reason), or a non-zero `status_code` with CM's text where it is known;
 * - the library ignores `failed_signatures`: a batch where only some payloads fail is still status 0 with the
 *   good ones in `signatures` (what the page can use) and the others in `failed_signatures`.
 */
import { z } from 'zod';

/** CM's status numbers are ASCII "SIG" + n (docs/cm.md §3, §4); only 0 (success) is confirmed. */
export const CM_STATUS = {
  OK: 0,
  /** "An Internal error occurred": the request could not be read (CM's documented text). */
  BAD_REQUEST: 0x53494703,
  /** "No X.509 Signing certificate found": no card (CM's documented text). */
  NO_CARD: 0x53494705,
  /** rxsign's own: the user declined, or the origin is not approved. */
  DECLINED: 0x53494710,
  /** rxsign's own: the user did not answer (approval or PIN) before the hub's deadline. */
  TIMEOUT: 0x53494711,
  /** rxsign's own: the card was removed, or signing failed as a whole. */
  SIGNING_FAILED: 0x53494712,
  /** rxsign's own: too many requests already wait for the user's answer; try again later. */
  BUSY: 0x53494713,
} as const;

export interface HubSignature {
  readonly id: string;
  readonly signature: string;
}

export interface HubFailure {
  readonly id: string;
  readonly signature: '';
  readonly code: string;
  readonly reason: string;
}

/** NCMPS's `HubResponse` (docs/cm.md §1, step 4). */
export interface HubResponse {
  readonly certificate: string;
  readonly signatures: readonly HubSignature[];
  readonly failed_signatures: readonly HubFailure[];
  readonly status_code: number;
  readonly status_string: string;
  readonly message: string;
  readonly timestamp: string;
}

export const MAX_HUB_PAYLOADS = 250;
const MAX_REQUEST_CHARS = 8 * 1024 * 1024;

const SignRequest = z
  .object({
    algorithm: z.enum(['RS256', 'RS1']),
    requestType: z.literal(1),
    version: z.literal(1),
    flags: z.literal(0),
    payloads: z
      .array(
        z
          .object({
            id: z.string().regex(/^[\x20-\x7e]{1,256}$/),
            payload: z
              .string()
              .min(1)
              .max(64 * 1024),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_HUB_PAYLOADS),
  })
  .strict()
  .refine((r) => new Set(r.payloads.map((p) => p.id)).size === r.payloads.length, {
    message: 'payload ids must be unique',
  });

export type SignRequest = z.infer<typeof SignRequest>;

/**
 * RFC 4648 §4 base64 with padding: whole quads of the alphabet, the last possibly `XX==` or `XXX=`. Written as
 * a length check and a flat character class: the grouped form /^(?:[A-Za-z0-9+/]{4})*…$/ overflows V8's regexp
 * stack on a few million characters, well inside MAX_REQUEST_CHARS (a 500 instead of a HubResponse).
 */
const isBase64 = (s: string): boolean => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

/** The request, or undefined when it is not base64 of a valid JSON request. */
export function decodeSignRequest(arg: unknown): SignRequest | undefined {
  if (typeof arg !== 'string' || arg.length === 0 || arg.length > MAX_REQUEST_CHARS) {
    return undefined;
  }
  if (!isBase64(arg)) {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(arg, 'base64')));
  } catch {
    return undefined;
  }
  const parsed = SignRequest.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** CM's documented texts (docs/cm.md §3), and rxsign's own for the cases CM does not document. */
const TEXTS: Record<Exclude<keyof typeof CM_STATUS, 'OK'>, [string, string]> = {
  BAD_REQUEST: [
    'Failed',
    'Failed to process inbound JSON request. Check logs for futher information. Error Code: (0x53494703) An Internal error occurred',
  ],
  NO_CARD: [
    'Failed',
    'Unable to locate a Smartcard on the local system that contains an appropriate X.509 Digital Certificate that can be used to perform a signing operation. Error Code: (0x53494705) No X.509 Signing certificate found',
  ],
  DECLINED: ['Declined', 'The user declined the signing request on the rxsign page.'],
  BUSY: [
    'Busy',
    'Too many signing requests are waiting for the user on the rxsign page; nothing was signed. Try again later.',
  ],
  TIMEOUT: [
    'Timeout',
    'The signing request was not approved, or the smartcard not unlocked, in time on the rxsign page.',
  ],
  SIGNING_FAILED: [
    'Failed',
    'No payload could be signed (failed_signatures says why for each): no signature was made.',
  ],
};

/** A refusal HubResponse (non-zero `status_code`). */
export function hubRefusal(kind: keyof typeof TEXTS, now: Date): HubResponse {
  const [status, message] = TEXTS[kind];
  return {
    certificate: '',
    signatures: [],
    failed_signatures: [],
    status_code: CM_STATUS[kind],
    status_string: status,
    message,
    timestamp: now.toISOString(),
  };
}

/** A success HubResponse from the signing service's batch result. */
export function hubSuccess(
  r: {
    certificate: string;
    signatures: readonly HubSignature[];
    failed_signatures: readonly { id: string; code: string; message: string }[];
  },
  now: Date,
): HubResponse {
  return {
    certificate: r.certificate,
    signatures: r.signatures.map((s) => ({ id: s.id, signature: s.signature })),
    failed_signatures: r.failed_signatures.map((f) => ({
      id: f.id,
      signature: '',
      code: f.code,
      reason: f.message,
    })),
    status_code: CM_STATUS.OK,
    status_string: 'Success',
    message:
      r.failed_signatures.length === 0
        ? ''
        : `${r.failed_signatures.length} of ${r.signatures.length + r.failed_signatures.length} payloads could not be signed`,
    timestamp: now.toISOString(),
  };
}
