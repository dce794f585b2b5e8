/** The agent's card-assertion error codes (docs/cis2-sign-in.md). */
import { errorFactory, type ErrorTable } from '../errors.js';

export type Cis2ErrorCode =
  | 'ERR_CIS2_NO_SESSION'
  | 'ERR_CIS2_ROLE_REQUIRED'
  | 'ERR_CIS2_FRESH_LOGIN_REQUIRED'
  | 'ERR_CIS2_ORIGIN_REQUIRED';

export const CIS2_ERRORS: ErrorTable<Cis2ErrorCode> = {
  ERR_CIS2_NO_SESSION: {
    status: 401,
    message: 'no card session: log in with your smartcard on the rxsign agent page first',
    fix: 'Insert the card and log in on the agent page (or rxsign login), then try the sign-in again.',
  },
  ERR_CIS2_ROLE_REQUIRED: {
    status: 409,
    message: 'the card session has no selected role: choose one on the rxsign agent page',
    fix: 'Select the role you are working in on the agent page, then try the sign-in again.',
  },
  ERR_CIS2_FRESH_LOGIN_REQUIRED: {
    status: 401,
    message: 'this sign-in asks for your PIN again: log in again on the rxsign agent page',
    fix: 'Log out and log in again with the PIN on the agent page, then try the sign-in again.',
  },
  ERR_CIS2_ORIGIN_REQUIRED: {
    status: 400,
    message: 'a card assertion is made only for a web page (the request has no Origin header)',
    fix: 'Request the assertion from the sign-in page in the browser; the agent takes the origin from the browser.',
  },
};

/**
 * @example
 * ```ts
 * throw cis2Error('ERR_CIS2_NO_SESSION');
 * ```
 */
export const cis2Error = errorFactory(CIS2_ERRORS);
