/**
 * The PIN guard's codes (docs/pin.md). None of them is decided by the card: each refuses a PIN before it
 * reaches C_Login, so a refused try never costs one of the card's tries.
 */
import { fromTable, type ErrorTable, type ServiceError } from '../errors.js';

export type PinErrorCode =
  'ERR_PIN_BACKOFF' | 'ERR_PIN_PAGE_ONLY' | 'ERR_PIN_ACK_REQUIRED' | 'ERR_PIN_IN_HEADER';

export const PIN_ERRORS: ErrorTable<PinErrorCode> = {
  ERR_PIN_BACKOFF: {
    status: 429,
    message: 'too many wrong PINs: wait before trying again',
    fix: 'Wait for the time the answer gives (Retry-After, retryAfterMs); each wrong PIN doubles the wait.',
  },
  ERR_PIN_PAGE_ONLY: {
    status: 403,
    message: "log in on the agent's page: only the agent's page may try a PIN now",
    fix: 'After two wrong PINs, or when the card reports few tries left, open the agent page (http://127.0.0.1:8730/), read its warning and log in there.',
  },
  ERR_PIN_ACK_REQUIRED: {
    status: 428,
    message: 'the card has few PIN tries left: confirm the warning before trying',
    fix: 'On the agent page, tick the box that you understand a wrong PIN may lock the card, then log in.',
  },
  ERR_PIN_IN_HEADER: {
    status: 400,
    message: 'a PIN is not accepted in a header',
    fix: 'Send the PIN in the JSON body (`pin`), or log in first and sign with no PIN (docs/signing.md).',
  },
};

export function pinError(
  code: PinErrorCode,
  options: { cause?: unknown; detail?: Record<string, unknown> } = {},
): ServiceError<PinErrorCode> {
  return fromTable(PIN_ERRORS, code, options);
}
