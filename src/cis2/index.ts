/**
 * The cis2 folder's public surface: the card assertion the agent makes for a CIS2-style sign-in
 * (docs/cis2-sign-in.md) and the agent's codes for it.
 */
export {
  CARD_ASSERTION_ISS,
  CARD_ASSERTION_LIFETIME_S,
  CARD_ASSERTION_TYP,
  NONCE_PATTERN,
  buildCardAssertion,
  type CardAssertionClaims,
  type CardAssertionInput,
} from './card-assertion.js';
export { CIS2_ERRORS, cis2Error, type Cis2ErrorCode } from './errors.js';
