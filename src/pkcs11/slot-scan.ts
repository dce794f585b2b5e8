/**
 * Slot scan: reads the module's slots and tokens into plain {@link SlotInfo}/{@link TokenInfo} values, and finds
 * a token by label or serial. Part of the token bookkeeping over graphene-pk11 (driver.ts, card-poll.ts).
 *
 * Rules:
 * - tokens are found by label or serial, never by slot id (SoftHSM renumbers slots);
 * - a token whose info cannot be read is reported as absent, and the scan says so (`unreadable`), so that the
 *   poller can re-initialise the module;
 * - only initialised tokens with a serial count as present.
 */
import * as graphene from 'graphene-pk11';
import * as pkcs11js from './constants.js';
import { pkcs11Error } from './errors.js';
import type { SlotInfo, TokenInfo, TokenSelector } from './types.js';

export function trim(s: string): string {
  return s.replace(/[\s\0]+$/, '');
}

export function tokenInfoOf(slot: graphene.Slot): TokenInfo {
  const t = slot.getToken();
  const f = t.flags;
  const has = (flag: number) => (f & flag) !== 0;
  return {
    slotId: Buffer.from(slot.handle).toString('hex'),
    label: trim(t.label),
    serial: trim(t.serialNumber),
    manufacturer: trim(t.manufacturerID),
    model: trim(t.model),
    flags: {
      tokenInitialized: has(pkcs11js.CKF_TOKEN_INITIALIZED),
      loginRequired: has(pkcs11js.CKF_LOGIN_REQUIRED),
      userPinInitialized: has(pkcs11js.CKF_USER_PIN_INITIALIZED),
      protectedAuthenticationPath: has(pkcs11js.CKF_PROTECTED_AUTHENTICATION_PATH),
      userPinCountLow: has(pkcs11js.CKF_USER_PIN_COUNT_LOW),
      userPinFinalTry: has(pkcs11js.CKF_USER_PIN_FINAL_TRY),
      userPinLocked: has(pkcs11js.CKF_USER_PIN_LOCKED),
      userPinToBeChanged: has(pkcs11js.CKF_USER_PIN_TO_BE_CHANGED),
      writeProtected: has(pkcs11js.CKF_WRITE_PROTECTED),
    },
  };
}

export function matches(info: TokenInfo, sel: TokenSelector): boolean {
  return 'label' in sel ? info.label === sel.label : info.serial === sel.serial;
}

/** One pass over the slots: the slot list, and whether a slot claims a token it cannot read. */
export function scanSlots(mod: graphene.Module): { slots: SlotInfo[]; unreadable: boolean } {
  const slots = mod.getSlots(false);
  const out: SlotInfo[] = [];
  let unreadable = false;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    const present = (slot.flags & pkcs11js.CKF_TOKEN_PRESENT) !== 0;
    let token: TokenInfo | undefined;
    if (present) {
      try {
        token = tokenInfoOf(slot);
      } catch {
        unreadable = true;
      }
    }
    out.push({
      slotId: Buffer.from(slot.handle).toString('hex'),
      description: trim(slot.slotDescription),
      manufacturer: trim(slot.manufacturerID),
      tokenPresent: token !== undefined,
      removableDevice: (slot.flags & pkcs11js.CKF_REMOVABLE_DEVICE) !== 0,
      hardwareSlot: (slot.flags & pkcs11js.CKF_HW_SLOT) !== 0,
      ...(token ? { token } : {}),
    });
  }
  return { slots: out, unreadable };
}

/** The present, initialised tokens of a scan, by serial. */
export function presentTokens(slots: readonly SlotInfo[]): Map<string, TokenInfo> {
  const out = new Map<string, TokenInfo>();
  for (const s of slots) {
    if (s.token && s.token.flags.tokenInitialized && s.token.serial) {
      out.set(s.token.serial, s.token);
    }
  }
  return out;
}

/**
 * Whether `slot` still holds the token with this serial: a token that no longer answers C_GetTokenInfo (safe
 * beside a C_Sign) has gone.
 *
 * @example
 * ```ts
 * if (!holdsToken(o.slot, o.info.serial)) forget(o);
 * ```
 */
export function holdsToken(slot: graphene.Slot, serial: string): boolean {
  try {
    return tokenInfoOf(slot).serial === serial;
  } catch {
    return false;
  }
}

/** The slot holding the initialised token that `sel` names, or ERR_PKCS11_TOKEN_NOT_FOUND. */
export function findToken(
  mod: graphene.Module,
  sel: TokenSelector,
): { slot: graphene.Slot; info: TokenInfo } {
  const slots = mod.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    let info: TokenInfo;
    try {
      info = tokenInfoOf(slot);
    } catch {
      continue;
    }
    if (info.flags.tokenInitialized && matches(info, sel)) {
      return { slot, info };
    }
  }
  throw pkcs11Error('ERR_PKCS11_TOKEN_NOT_FOUND');
}
