/**
 * The SSO ticket (Access Manager SSOTokenID) as the broker returns it in `sso_ticket` (docs/protocol/cis-login.md
 * §1.4): checked before the agent stores it, hands it to callers of the Ticket API or puts it in a URL or header.
 *
 * Rules:
 * - characters: the base64 alphabet (RFC 4648 §4 and §5: `A-Z a-z 0-9 + / - _ =`) and the separators Access
 *   Manager tokens use (`@` `#` `*` `.`), e.g. `AQIC5wM2LY4S…=@AAJTSQACMDE=#`. No space, no control character
 *   (a CR LF in a ticket would split a header of whoever passes it on), nothing outside ASCII;
 * - length: 16 to {@link MAX_SSO_TICKET_LENGTH} characters (real tickets are about 60-80).
 */

/** Longest ticket accepted: several times a real one, far below any header or URL limit. */
export const MAX_SSO_TICKET_LENGTH = 512;

const SSO_TICKET = /^[A-Za-z0-9+/=_\-@#*.]{16,512}$/;

/**
 * True when `value` has the character set and length of an SSO ticket.
 *
 * @example
 * ```ts
 * isSsoTicket('AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF+B1j56GJ4xGut4=@AAJTSQACMDE=#'); // true
 * isSsoTicket('AQIC5wM2LY4S\r\nSet-Cookie: x'); // false
 * ```
 */
export function isSsoTicket(value: unknown): value is string {
  return typeof value === 'string' && SSO_TICKET.test(value);
}
