/**
 * A fault-injecting TokenPort for what SoftHSM cannot do: a card pulled in the middle of a signature (also
 * while other signatures run on its other sessions), a card that locks after wrong PINs. It wraps a real port
 * and forwards everything else to it.
 */
import { ServiceError } from '../../src/errors.js';
import {
  PKCS11_ERRORS,
  type CardEvent,
  type TokenPort,
  type TokenSelector,
} from '../../src/pkcs11/index.js';

export class FaultPort implements TokenPort {
  readonly #inner: TokenPort;
  readonly #listeners = new Set<(e: CardEvent) => void>();
  #removeAfterSigns: number | undefined;
  #slowRemovalAt: number | undefined;
  #signs = 0;
  #removed = false;
  #lockAfter: number | undefined;
  #wrongPins = 0;
  #label = '';
  #serial = '';
  #pinFlags: { countLow?: boolean; finalTry?: boolean; locked?: boolean } = {};
  readonly #logouts: string[] = [];

  constructor(inner: TokenPort) {
    this.#inner = inner;
    inner.subscribe((e) => this.#emit(e));
  }

  /** The card is pulled while the (n+1)-th signature is on the card: that call and all later ones fail. */
  removeDuringSign(afterSigns: number, token: { label: string; serial: string }): void {
    this.#removeAfterSigns = afterSigns;
    this.#label = token.label;
    this.#serial = token.serial;
  }

  /** The card is pulled while the next signature is on the card. */
  removeAtNextSign(token: { label: string; serial: string }): void {
    this.removeDuringSign(this.#signs, token);
  }

  /**
   * The card is pulled while the (n+1)-th signature is on it, and that failure is only noticed after the
   * signatures already started on the card's other sessions have come back signed: they are real signatures
   * of the card, finished before the failure was seen. Calls made after the failure fail.
   */
  removeDuringSlowSign(afterSigns: number, token: { label: string; serial: string }): void {
    this.#slowRemovalAt = afterSigns;
    this.#label = token.label;
    this.#serial = token.serial;
  }

  /** The card locks after `n` wrong PINs, as real NHS cards do after 3 (SoftHSM never locks). */
  lockAfterWrongPins(n: number): void {
    this.#lockAfter = n;
  }

  /**
   * The token reports these PIN flags in CK_TOKEN_INFO (as a real card does after wrong PINs); a flag not
   * given is the real token's. A card set to lock after wrong PINs reports them itself.
   */
  setPinFlags(flags: { countLow?: boolean; finalTry?: boolean; locked?: boolean }): void {
    this.#pinFlags = { ...flags };
  }

  /** Selectors passed to logout (C_Logout), in order. */
  get logouts(): readonly string[] {
    return this.#logouts;
  }

  /** The card is pulled (no signature in flight): every call fails and a 'removed' event is sent. */
  remove(token: { label: string; serial: string }): void {
    this.#removed = true;
    this.#label = token.label;
    this.#serial = token.serial;
    this.#emit({ type: 'removed', token });
  }

  /** The pulled card is put back: calls reach the card again and an 'inserted' event is sent. */
  async reinsert(): Promise<void> {
    this.#removed = false;
    this.#removeAfterSigns = undefined;
    this.#slowRemovalAt = undefined;
    const token = (await this.listSlots())
      .map((s) => s.token)
      .find((t) => t?.serial === this.#serial);
    if (token !== undefined) {
      this.#emit({ type: 'inserted', token });
    }
  }

  #emit(e: CardEvent): void {
    for (const l of this.#listeners) {
      l(e);
    }
  }

  #gone(): ServiceError {
    return new ServiceError(
      'ERR_PKCS11_CARD_REMOVED',
      PKCS11_ERRORS.ERR_PKCS11_CARD_REMOVED.message,
    );
  }

  async listSlots() {
    const slots = await this.#inner.listSlots();
    const locking = this.#lockAfter;
    const f = {
      countLow:
        this.#pinFlags.countLow ??
        (locking !== undefined && this.#wrongPins > 0 ? true : undefined),
      finalTry:
        this.#pinFlags.finalTry ??
        (locking !== undefined && this.#wrongPins === locking - 1 ? true : undefined),
      locked:
        this.#pinFlags.locked ??
        (locking !== undefined && this.#wrongPins >= locking ? true : undefined),
    };
    return slots.map((slot) =>
      slot.token === undefined
        ? slot
        : {
            ...slot,
            token: {
              ...slot.token,
              flags: {
                ...slot.token.flags,
                userPinCountLow: f.countLow ?? slot.token.flags.userPinCountLow,
                userPinFinalTry: f.finalTry ?? slot.token.flags.userPinFinalTry,
                userPinLocked: f.locked ?? slot.token.flags.userPinLocked,
              },
            },
          },
    );
  }

  /** C_Login calls that reached the card (wrong PINs included). */
  logins = 0;

  async login(token: TokenSelector, pin: string): Promise<void> {
    this.logins += 1;
    if (this.#removed) {
      throw this.#gone();
    }
    if (this.#lockAfter !== undefined && this.#wrongPins >= this.#lockAfter) {
      throw new ServiceError('ERR_PKCS11_PIN_LOCKED', PKCS11_ERRORS.ERR_PKCS11_PIN_LOCKED.message);
    }
    try {
      await this.#inner.login(token, pin);
      this.#wrongPins = 0;
    } catch (err) {
      if (err instanceof ServiceError && err.code.startsWith('ERR_PKCS11_PIN')) {
        this.#wrongPins += 1;
        if (this.#pinFlags.countLow === false && err.code === 'ERR_PKCS11_PIN_COUNT_LOW') {
          // SoftHSM says "count low" after any wrong PIN; this card has many tries left
          throw new ServiceError(
            'ERR_PKCS11_PIN_INCORRECT',
            PKCS11_ERRORS.ERR_PKCS11_PIN_INCORRECT.message,
          );
        }
        if (this.#lockAfter !== undefined && this.#wrongPins >= this.#lockAfter) {
          throw new ServiceError(
            'ERR_PKCS11_PIN_LOCKED',
            PKCS11_ERRORS.ERR_PKCS11_PIN_LOCKED.message,
          );
        }
        if (this.#lockAfter !== undefined && this.#wrongPins === this.#lockAfter - 1) {
          throw new ServiceError(
            'ERR_PKCS11_PIN_FINAL_TRY',
            PKCS11_ERRORS.ERR_PKCS11_PIN_FINAL_TRY.message,
          );
        }
      }
      throw err;
    }
  }

  logout(token: TokenSelector) {
    this.#logouts.push('serial' in token ? token.serial : token.label);
    return this.#inner.logout(token);
  }

  loginState(token: TokenSelector) {
    return this.#removed ? Promise.reject(this.#gone()) : this.#inner.loginState(token);
  }

  certificates(token: TokenSelector) {
    return this.#removed ? Promise.reject(this.#gone()) : this.#inner.certificates(token);
  }

  async sign(token: TokenSelector, request: Parameters<TokenPort['sign']>[1]): Promise<Uint8Array> {
    if (this.#removed) {
      throw this.#gone();
    }
    if (this.#removeAfterSigns !== undefined && this.#signs >= this.#removeAfterSigns) {
      // The card goes while this signature is on it: the driver would see CKR_DEVICE_REMOVED.
      this.#removed = true;
      this.#emit({ type: 'removed', token: { label: this.#label, serial: this.#serial } });
      throw this.#gone();
    }
    if (this.#slowRemovalAt !== undefined && this.#signs === this.#slowRemovalAt) {
      this.#signs += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
      this.#removed = true;
      this.#emit({ type: 'removed', token: { label: this.#label, serial: this.#serial } });
      throw this.#gone();
    }
    this.#signs += 1;
    return this.#inner.sign(token, request);
  }

  subscribe(listener: (event: CardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close() {
    return this.#inner.close();
  }
}
