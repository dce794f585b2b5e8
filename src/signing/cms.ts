/**
 * CMS (CAdES-BES, SHA-256) signing of any content with the card's signing key.
 *
 * Rules:
 * - the CMS is built by src/cms `signCades` from the session's SigningIdentity (made once per card session);
 * - only the RSA step runs on the card: CKM_SHA256_RSA_PKCS (CKM_SHA1_RSA_PKCS only if cms asks for SHA-1);
 * - attached or detached; DER, or PEM (`-----BEGIN CMS-----`); the chain is included when configured.
 */
import { signCades, toPem, type RsaSigner } from '../cms/index.js';
import type { CardSession, SigningKey } from './card-session.js';

/** Options of {@link signContentCms}. */
export interface CmsSignOptions {
  readonly detached?: boolean;
  readonly pem?: boolean;
  readonly includeChain?: boolean;
  readonly signingTime?: Date;
}

/** Largest content accepted for CMS signing. */
export const MAX_CMS_CONTENT_BYTES = 10 * 1024 * 1024;

/**
 * The {@link RsaSigner} that signs on the card with the session key.
 *
 * @example
 * ```ts
 * const signer = cardRsaSigner(session, key);
 * ```
 */
export function cardRsaSigner(session: CardSession, key: SigningKey): RsaSigner {
  return (data, hash) =>
    session.sign(key, hash === 'SHA-256' ? 'SHA256_RSA_PKCS' : 'SHA1_RSA_PKCS', data);
}

/**
 * CAdES-BES SignedData over `content`, DER or PEM.
 *
 * @example
 * ```ts
 * const pem = await signContentCms(session, key, content, { detached: true, pem: true });
 * ```
 */
export async function signContentCms(
  session: CardSession,
  key: SigningKey,
  content: Uint8Array,
  o: CmsSignOptions = {},
): Promise<Uint8Array> {
  const der = await signCades({
    content,
    identity: key.identity,
    signer: cardRsaSigner(session, key),
    detached: o.detached === true,
    includeChain: o.includeChain !== false,
    ...(o.signingTime !== undefined ? { signingTime: o.signingTime } : {}),
  });
  return o.pem === true ? new Uint8Array(Buffer.from(toPem(der), 'ascii')) : der;
}
