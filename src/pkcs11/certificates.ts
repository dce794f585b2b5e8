/**
 * The certificates on a card, read on the token's main session. driver.ts calls this as a barrier.
 *
 * Rules:
 * - a certificate is paired with its keys by CKA_ID (in PKCS#11 the identifier a certificate shares with its
 *   public and private key), never by label;
 * - what a certificate is for comes from its keyUsage extension (key-usage.ts), not from its label;
 * - private keys are usually visible only after login, so `hasPrivateKey` says what the session sees now.
 */
import * as graphene from 'graphene-pk11';
import { keyUsageOf, purposeOf } from './key-usage.js';
import { trim } from './slot-scan.js';
import type { CardCertificate } from './types.js';

/**
 * Certificates on the card, paired with keys by CKA_ID and classified by keyUsage.
 *
 * @example
 * ```ts
 * const signing = cardCertificates(session).filter((c) => c.purpose === 'non-repudiation' && c.hasPrivateKey);
 * ```
 */
export function cardCertificates(session: graphene.Session): CardCertificate[] {
  const ids = (cls: graphene.ObjectClass) => {
    const found = session.find({ class: cls });
    const set = new Set<string>();
    for (let i = 0; i < found.length; i++) {
      set.add(
        Buffer.from(found.items(i).getAttribute({ id: null }).id ?? Buffer.alloc(0)).toString(
          'hex',
        ),
      );
    }
    return set;
  };
  const priv = ids(graphene.ObjectClass.PRIVATE_KEY);
  const pub = ids(graphene.ObjectClass.PUBLIC_KEY);
  const certs = session.find({ class: graphene.ObjectClass.CERTIFICATE });
  const out: CardCertificate[] = [];
  for (let i = 0; i < certs.length; i++) {
    const c = certs.items(i).toType<graphene.X509Certificate>();
    const id = Buffer.from(c.id ?? Buffer.alloc(0)).toString('hex');
    const der = new Uint8Array(c.value);
    const keyUsage = keyUsageOf(der);
    out.push({
      id,
      label: trim(c.label ?? ''),
      der,
      purpose: purposeOf(keyUsage),
      keyUsage,
      hasPrivateKey: priv.has(id),
      hasPublicKey: pub.has(id),
    });
  }
  return out;
}
