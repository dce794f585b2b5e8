/**
 * One card's signing session: the non-repudiation certificate and its key, parsed once, and the PIN policy.
 *
 * Rules:
 * - the signing certificate is the card's certificate whose keyUsage includes nonRepudiation; its key is the
 *   private key with the same CKA_ID (docs/protocol/eps-signing.md §1.5); none → ERR_SIGN_NO_SIGNING_CERT;
 * - the certificate is parsed and the CMS SigningIdentity and public KeyObject are made ONCE per card session;
 * - PIN policy 'session': C_Login once, reused while the card stays in and logged in; 'per-signature': C_Login
 *   on every signing call (the driver logs out and in again, so the PIN is really checked);
 * - a PIN supplied with a call is always checked, never ignored: every PIN goes through the PIN guard
 *   (docs/pin.md), which logs the card in or, with the session policy and a card this agent logged in, checks
 *   it against the PIN of the live login (a wrong one is refused and the login goes on);
 * - a logout by the PIN guard (the end of the Spine session) ends the card login here too;
 * - a 'removed' or 'logged-out' event for the card drops everything: the generation changes, and no signature
 *   is started with a key of an older generation;
 * - the PIN is only passed to the port, never stored, logged or put into an error.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { parseCertificate, type CertificateInfo } from '../cms/certificate.js';
import { createSigningIdentity, type SigningIdentity } from '../cms/identity.js';
import { isServiceError } from '../errors.js';
import type { CardEvent, SignMechanism, TokenPort, TokenSelector } from '../pkcs11/index.js';
import { PinGuard, type PinSource } from '../pin/index.js';
import { signError } from './errors.js';

export type PinPolicy = 'session' | 'per-signature';

/** Options of {@link openCardSession}. */
export interface CardSessionOptions {
  readonly port: TokenPort;
  readonly token: TokenSelector;
  readonly pinPolicy: PinPolicy;
  /** DER intermediates to include in CMS signatures. */
  readonly chainDer?: readonly Uint8Array[];
  /** The PIN guard shared with the Spine login (default: one of its own). */
  readonly pins?: PinGuard;
}

/** Where a PIN given to {@link CardSession.acquire} came from (default 'cli'), and the page's warning. */
export interface PinOrigin {
  readonly from?: PinSource;
  readonly acknowledgeFinalTry?: boolean;
}

/** The card's signing key and certificate for one card session (immutable). */
export interface SigningKey {
  readonly cardLabel: string;
  readonly cardSerial: string;
  readonly keyId: string;
  readonly certificate: CertificateInfo;
  /** Base64 of the certificate DER: no PEM armour, no whitespace (§1.6). */
  readonly certificateB64: string;
  readonly identity: SigningIdentity;
  readonly publicKey: KeyObject;
  /** The cardholder's UID (the 12 digits the CN starts with), if the certificate carries one. */
  readonly uid: string | null;
  readonly generation: number;
}

/** See {@link openCardSession}. */
export interface CardSession {
  /** Logs in as the PIN policy requires and returns the session's key (loaded on first use). */
  acquire(pin?: string, origin?: PinOrigin): Promise<SigningKey>;
  /** Signs on the card with `key`; ERR_SIGN_CARD_REMOVED if the card went before the request started. */
  sign(key: SigningKey, mechanism: SignMechanism, data: Uint8Array): Promise<Uint8Array>;
  /** False once the card was removed or logged out after `key` was acquired. */
  isCurrent(key: SigningKey): boolean;
  readonly pinPolicy: PinPolicy;
  close(): void;
}

interface Loaded {
  readonly key: SigningKey;
}

function uidOf(cn: string | undefined): string | null {
  const m = /^(\d{12})_/.exec(cn ?? '');
  return m?.[1] ?? null;
}

function mapCardError(err: unknown): unknown {
  if (isServiceError(err)) {
    if (err.code === 'ERR_PKCS11_CARD_REMOVED' || err.code === 'ERR_PKCS11_TOKEN_NOT_FOUND') {
      return signError('ERR_SIGN_CARD_REMOVED', { cause: err });
    }
    return err;
  }
  return signError('ERR_SIGN_CARD_FAILED', { cause: err });
}

/**
 * Opens the signing session of one card and follows its events.
 *
 * @example
 * ```ts
 * const session = openCardSession({ port, token: { label: 'prescriber' }, pinPolicy: 'session' });
 * const key = await session.acquire(pin);
 * const sig = await session.sign(key, 'SHA256_RSA_PKCS', signedInfo);
 * ```
 */
export function openCardSession(o: CardSessionOptions): CardSession {
  const { port, token, pinPolicy } = o;
  const pins = o.pins ?? new PinGuard({ port });
  const chainDer = [...(o.chainDer ?? [])];
  let generation = 0;
  let loaded: Loaded | undefined;
  let loggedIn = false;
  let known: { label: string; serial: string } | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const matches = (t: { label: string; serial: string }): boolean =>
    known !== undefined
      ? t.serial === known.serial
      : 'label' in token
        ? t.label === token.label
        : t.serial === token.serial;

  const unsubscribe = port.subscribe((e: CardEvent) => {
    if ((e.type === 'removed' || e.type === 'logged-out') && matches(e.token)) {
      generation += 1;
      loaded = undefined;
      loggedIn = false;
    }
  });
  const unsubscribePins = pins.onLoggedOut((serial) => {
    if (known === undefined || known.serial === serial) {
      loggedIn = false;
    }
  });

  async function identify(): Promise<{ label: string; serial: string }> {
    if (known !== undefined) {
      return known;
    }
    const slots = await port.listSlots();
    const info = slots
      .map((s) => s.token)
      .find(
        (t) =>
          t !== undefined &&
          ('label' in token ? t.label === token.label : t.serial === token.serial),
      );
    if (info === undefined) {
      throw signError('ERR_SIGN_CARD_REMOVED');
    }
    known = { label: info.label, serial: info.serial };
    return known;
  }

  async function load(gen: number): Promise<Loaded> {
    const card = await identify();
    const certs = await port.certificates(token);
    const signing = certs.filter(
      (c) => c.purpose === 'non-repudiation' || c.keyUsage.includes('nonRepudiation'),
    );
    const withKey = signing.find((c) => c.hasPrivateKey);
    if (withKey === undefined) {
      throw signError(
        signing.length === 0 ? 'ERR_SIGN_NO_SIGNING_CERT' : 'ERR_SIGN_NO_PRIVATE_KEY',
      );
    }
    const certificate = parseCertificate(withKey.der);
    const identity = createSigningIdentity(withKey.der, chainDer);
    const key: SigningKey = Object.freeze({
      cardLabel: card.label,
      cardSerial: card.serial,
      keyId: withKey.id,
      certificate,
      certificateB64: Buffer.from(withKey.der).toString('base64'),
      identity,
      publicKey: createPublicKey({
        key: Buffer.from(certificate.publicKey.spkiDer),
        format: 'der',
        type: 'spki',
      }),
      uid: uidOf(certificate.subjectCN),
      generation: gen,
    });
    return { key };
  }

  async function acquireNow(pin: string | undefined, origin: PinOrigin): Promise<SigningKey> {
    const gen = generation;
    if (pin !== undefined) {
      // Checked on every call that carries one (never ignored because the card is logged in already).
      const card = await identify();
      await pins.login(card, pin, {
        from: origin.from ?? 'cli',
        ...(origin.acknowledgeFinalTry === true ? { acknowledgeFinalTry: true } : {}),
        ...(pinPolicy === 'per-signature' ? { reauthenticate: true } : {}),
      });
      if (gen !== generation) {
        throw signError('ERR_SIGN_CARD_REMOVED');
      }
      loggedIn = true;
    } else if (pinPolicy === 'per-signature') {
      throw signError('ERR_SIGN_PIN_REQUIRED');
    } else if (!loggedIn) {
      if ((await port.loginState(token)) !== 'logged-in') {
        throw signError('ERR_SIGN_PIN_REQUIRED');
      }
      if (gen !== generation) {
        throw signError('ERR_SIGN_CARD_REMOVED');
      }
      loggedIn = true;
    }
    if (loaded === undefined || loaded.key.generation !== gen) {
      const fresh = await load(gen);
      if (gen !== generation) {
        throw signError('ERR_SIGN_CARD_REMOVED');
      }
      loaded = fresh;
    }
    return loaded.key;
  }

  return {
    pinPolicy,
    acquire(pin?: string, origin: PinOrigin = {}): Promise<SigningKey> {
      // One acquire at a time, so that two first calls do not both log in.
      const next = queue.then(
        () => acquireNow(pin, origin),
        () => acquireNow(pin, origin),
      );
      queue = next.catch(() => undefined);
      return next.catch((err: unknown) => {
        throw mapCardError(err);
      });
    },
    async sign(key: SigningKey, mechanism: SignMechanism, data: Uint8Array): Promise<Uint8Array> {
      if (key.generation !== generation) {
        throw signError('ERR_SIGN_CARD_REMOVED');
      }
      let sig: Uint8Array;
      try {
        sig = await port.sign(token, { keyId: key.keyId, mechanism, data });
      } catch (err) {
        if (isServiceError(err) && err.code === 'ERR_PKCS11_NOT_LOGGED_IN') {
          loggedIn = false;
          pins.forgetLogin(key.cardSerial);
        }
        throw mapCardError(err);
      }
      // A successful C_Sign was made while the card was present. Signatures may run in parallel on the
      // token's sessions and settle in any order, so callers that need "nothing after a removal" take results
      // in their own order and stop at the first removal (eps.ts). A different card under the same label is
      // caught by the self-check against this session's certificate.
      return sig;
    },
    isCurrent: (key) => key.generation === generation,
    close: () => {
      unsubscribe();
      unsubscribePins();
      if (o.pins === undefined) {
        pins.close();
      }
      loaded = undefined;
    },
  };
}
