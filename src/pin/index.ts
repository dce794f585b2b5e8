// The PIN folder's public surface: the guard every PIN goes through (docs/pin.md) and its codes.
export {
  PinGuard,
  type PinGuardOptions,
  type PinSource,
  type PinStatus,
  type PinTry,
} from './guard.js';
export { PIN_ERRORS, pinError, type PinErrorCode } from './errors.js';
