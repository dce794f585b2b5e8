/**
 * The token layer's public types: plain data, no graphene or pkcs11js type ever appears here.
 */

/** Select a token by what is stable about it. Slot ids are not: SoftHSM and real readers renumber them. */
export type TokenSelector = { readonly label: string } | { readonly serial: string };

export interface TokenFlags {
  readonly tokenInitialized: boolean;
  readonly loginRequired: boolean;
  readonly userPinInitialized: boolean;
  readonly protectedAuthenticationPath: boolean;
  readonly userPinCountLow: boolean;
  readonly userPinFinalTry: boolean;
  readonly userPinLocked: boolean;
  readonly userPinToBeChanged: boolean;
  readonly writeProtected: boolean;
}

export interface TokenInfo {
  /** Informative only (hex of the slot handle at the time it was read): never select by it. */
  readonly slotId: string;
  readonly label: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly flags: TokenFlags;
}

export interface SlotInfo {
  readonly slotId: string;
  readonly description: string;
  readonly manufacturer: string;
  readonly tokenPresent: boolean;
  readonly removableDevice: boolean;
  readonly hardwareSlot: boolean;
  readonly token?: TokenInfo;
}

/** What a certificate on the card is for, from its keyUsage extension. */
export type CertificatePurpose = 'authentication' | 'non-repudiation' | 'other';

export interface CardCertificate {
  /** CKA_ID in lower-case hex: pairs the certificate with its keys. */
  readonly id: string;
  readonly label: string;
  readonly der: Uint8Array;
  readonly purpose: CertificatePurpose;
  /** keyUsage bit names present in the certificate (RFC 5280 §4.2.1.3). */
  readonly keyUsage: readonly string[];
  /** A private key object with the same CKA_ID is visible (private keys are usually visible only after login). */
  readonly hasPrivateKey: boolean;
  /** A public key object with the same CKA_ID is on the card. */
  readonly hasPublicKey: boolean;
}

/**
 * Signing mechanisms by PKCS#11 name without the `CKM_` prefix. `RSA_PKCS` signs a caller-built DigestInfo
 * (pre-hashed input). Only the three defaults are allowed unless configuration adds more.
 */
export type SignMechanism =
  'SHA256_RSA_PKCS' | 'SHA1_RSA_PKCS' | 'RSA_PKCS' | (string & { readonly __mech?: never });

export const DEFAULT_MECHANISMS: readonly string[] = [
  'SHA256_RSA_PKCS',
  'SHA1_RSA_PKCS',
  'RSA_PKCS',
];

export interface SignRequest {
  readonly keyId: string;
  readonly mechanism: SignMechanism;
  readonly data: Uint8Array;
}

export type LoginState = 'logged-in' | 'logged-out';

/** Card events, emitted by the poller (and by failures that show the card has gone). */
export type CardEvent =
  | { readonly type: 'inserted'; readonly token: TokenInfo }
  | { readonly type: 'removed'; readonly token: Pick<TokenInfo, 'label' | 'serial'> }
  | { readonly type: 'logged-out'; readonly token: Pick<TokenInfo, 'label' | 'serial'> };
