// Token info for the pkcs11 unit suites (card watching, card polling): an initialised SoftHSM-like token.
import type { TokenInfo } from '../../src/pkcs11/types.js';

/** An initialised token that needs a login; the label defaults to `card-<serial>`. */
export function token(serial: string, label = `card-${serial}`, slotId = '00'): TokenInfo {
  return {
    slotId,
    label,
    serial,
    manufacturer: 'SoftHSM project',
    model: 'SoftHSM v2',
    flags: {
      tokenInitialized: true,
      loginRequired: true,
      userPinInitialized: true,
      protectedAuthenticationPath: false,
      userPinCountLow: false,
      userPinFinalTry: false,
      userPinLocked: false,
      userPinToBeChanged: false,
      writeProtected: false,
    },
  };
}
