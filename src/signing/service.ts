/**
 * The signing service: policy → card → self-check → audit → result, for EPS batches, HL7 v3 and CMS.
 *
 * Rules:
 * - every attempt (each EPS item, each HL7 document, each CMS) becomes one audit record, refusals included;
 *   a call's records are appended in ONE append, and the call returns only after the append resolved
 *   (fsync); if the audit fails, no signature is returned (ERR_SIGN_AUDIT_FAILED);
 * - policy (algorithm allowlist, certificate usage, validity, PKUP, path and revocation) runs before signing;
 *   the certificate is checked at the signing time (now) and, for EPS, at the `$prepare` timestamp as well;
 * - caller input is copied before the first await (STYLE 21); the PIN is passed to the card only.
 */
import type { EmitEvent } from '../events.js';
import { isServiceError } from '../errors.js';
import type { AuditEntry, AuditLog, SignOutcome } from '../audit/index.js';
import type { TokenPort, TokenSelector } from '../pkcs11/index.js';
import type { PinGuard, PinSource } from '../pin/index.js';
import type { SignatureAlgorithm } from '../prescription/signed-info.js';
import { isoToHl7Timestamp } from '../prescription/timestamp.js';
import {
  openCardSession,
  type CardSession,
  type PinPolicy,
  type SigningKey,
} from './card-session.js';
import { MAX_CMS_CONTENT_BYTES, signContentCms, type CmsSignOptions } from './cms.js';
import {
  MAX_EPS_BATCH,
  decodeEpsPayload,
  epsMechanism,
  parseEpsAlgorithm,
  provenanceEntry,
  sha256Hex,
  signEpsItems,
  xmlDsigSignature,
  type EpsItem,
  type ProvenanceEntry,
} from './eps.js';
import { SIGN_ERRORS, signError } from './errors.js';
import { checkSignedHl7, placeSignature, prepareHl7 } from './hl7.js';
import { checkCertificateUsage, checkSigningPolicy, type SigningTrust } from './policy.js';

/** Who asks: goes into the audit record. */
export interface SignCaller {
  /** The requesting client (origin, API client id, 'cli'). */
  readonly client: string;
  readonly pin?: string;
  /** Where `pin` came from (default 'cli'): see docs/pin.md. */
  readonly pinFrom?: PinSource;
  readonly uid?: string | null;
  readonly role?: string | null;
}

/** Options of {@link createSigningService}. */
export interface SigningServiceOptions {
  readonly port: TokenPort;
  readonly token: TokenSelector;
  readonly pinPolicy: PinPolicy;
  readonly audit: AuditLog;
  readonly trust?: SigningTrust;
  readonly chainDer?: readonly Uint8Array[];
  readonly now?: () => Date;
  /** Where `signature.made` events go (src/events.ts): ids and hashes only, after the audit record. */
  readonly events?: EmitEvent;
  /** The PIN guard shared with the Spine login (the composition root passes the agent's). */
  readonly pins?: PinGuard;
}

/** An EPS batch request (NHS Credential Management `signPrescription` payload shape). */
export interface EpsBatchRequest {
  readonly payloads: readonly { readonly id: string; readonly payload: string }[];
  readonly algorithm: string;
  readonly timestamp?: string;
}

/** The answer, shaped like NHS Credential Management's `signPrescription`. */
export interface EpsBatchResult {
  certificate: string;
  signatures: { id: string; signature: string }[];
  failed_signatures: { id: string; code: string; message: string }[];
}

/** One `$prepare` result signed: raw signature, certificate, XML-DSig and Provenance entry. */
export interface EpsDigestResult {
  signature: string;
  certificate: string;
  signatureXml: string;
  provenance: ProvenanceEntry;
}

/** A signed HL7 v3 document. */
export interface Hl7SignResult {
  xml: string;
  signature: string;
  certificate: string;
  authorTime: string;
}

/** See {@link createSigningService}. */
export interface SigningService {
  signEpsBatch(request: EpsBatchRequest, caller: SignCaller): Promise<EpsBatchResult>;
  signEpsDigest(
    request: { digest: string; algorithm: string; timestamp?: string; bundle?: unknown },
    caller: SignCaller,
  ): Promise<EpsDigestResult>;
  signHl7(
    xml: Uint8Array | string,
    caller: SignCaller,
    o?: { algorithm?: SignatureAlgorithm },
  ): Promise<Hl7SignResult>;
  signCms(content: Uint8Array, caller: SignCaller, o?: CmsSignOptions): Promise<Uint8Array>;
  /** Audits a refusal decided outside (e.g. the HTTP role rule), then returns the error to throw. */
  refuse(caller: SignCaller, code: string, documentIds?: readonly string[]): Promise<void>;
  readonly session: CardSession;
  close(): void;
}

const PRINTABLE_ID = /^[\x20-\x7e]{1,256}$/;

/**
 * `value` if the audit record can hold it (printable ASCII, 1..`max`: record.ts), else undefined. The UID and
 * role come from the Spine broker's reply (untrusted): one the record cannot hold must not fail every append.
 */
function storable(value: string | null | undefined, max: number): string | undefined {
  return typeof value === 'string' && value.length <= max && PRINTABLE_ID.test(value)
    ? value
    : undefined;
}
const PATH_CACHE_MS = 60_000;

function codeOf(err: unknown): string {
  return isServiceError(err) && /^ERR_[A-Z0-9_]{1,64}$/.test(err.code)
    ? err.code
    : 'ERR_SIGN_CARD_FAILED';
}

function outcomeOf(code: string): SignOutcome {
  return /^ERR_(SIGN_(CARD|SELF_CHECK|AUDIT|CLOSED)|PKCS11_(CARD|DEVICE|INTERNAL|SESSION|MODULE))/.test(
    code,
  )
    ? 'failed'
    : 'refused';
}

/** Per-item messages of `failed_signatures`: the table's, except where an item is not the whole request. */
const ITEM_MESSAGES: Readonly<Record<string, string>> = {
  ERR_SIGN_BAD_PAYLOAD: SIGN_ERRORS.ERR_SIGN_BAD_PAYLOAD.message,
  ERR_SIGN_ALGORITHM_UNSUPPORTED: SIGN_ERRORS.ERR_SIGN_ALGORITHM_UNSUPPORTED.message,
  ERR_SIGN_CARD_REMOVED: SIGN_ERRORS.ERR_SIGN_CARD_REMOVED.message,
  ERR_SIGN_SELF_CHECK_FAILED: SIGN_ERRORS.ERR_SIGN_SELF_CHECK_FAILED.message,
  ERR_SIGN_BAD_INPUT: 'the item is not valid',
};

function messageOf(code: string): string {
  return ITEM_MESSAGES[code] ?? 'the item could not be signed';
}

/**
 * Creates the signing service of one card.
 *
 * @example
 * ```ts
 * const svc = createSigningService({ port, token: { label: 'prescriber' }, pinPolicy: 'session', audit });
 * const res = await svc.signEpsBatch({ payloads: [{ id: 'rx1', payload: digest }], algorithm: 'RS256' }, { client: 'cli', pin });
 * ```
 */
export function createSigningService(o: SigningServiceOptions): SigningService {
  const now = o.now ?? (() => new Date());
  const session = openCardSession({
    port: o.port,
    token: o.token,
    pinPolicy: o.pinPolicy,
    ...(o.chainDer !== undefined ? { chainDer: o.chainDer } : {}),
    ...(o.pins !== undefined ? { pins: o.pins } : {}),
  });
  let closed = false;
  const pathChecked = new WeakMap<SigningKey, number>();
  // Errors whose record is already written (so `guarded` does not write a second one).
  const audited = new WeakSet<Error>();
  const markAudited = (err: unknown): unknown => {
    const e = err instanceof Error ? err : signError('ERR_SIGN_CARD_FAILED', { cause: err });
    audited.add(e);
    return e;
  };

  const entry = (
    caller: SignCaller,
    key: SigningKey | undefined,
    x: {
      algorithm: string | null;
      sha: readonly string[];
      ids: readonly string[];
      code: string | null;
    },
  ): AuditEntry => ({
    kind: 'sign',
    client: PRINTABLE_ID.test(caller.client) ? caller.client : 'unknown',
    cardSerial: key?.cardSerial ?? null,
    uid: storable(caller.uid, 64) ?? key?.uid ?? null,
    role: storable(caller.role, 128) ?? null,
    certSerial: key?.certificate.serialHex ?? null,
    algorithm: x.algorithm,
    payloadSha256: [...x.sha],
    documentIds: x.ids.filter((id) => PRINTABLE_ID.test(id)).slice(0, 1000),
    outcome: x.code === null ? 'signed' : outcomeOf(x.code),
    errorCode: x.code,
  });

  async function record(entries: readonly AuditEntry[]): Promise<void> {
    try {
      await o.audit.append(entries);
    } catch (cause) {
      throw signError('ERR_SIGN_AUDIT_FAILED', { cause });
    }
  }

  /** Runs `fn`; a thrown refusal/failure is audited (one record) and rethrown. */
  async function guarded<T>(
    caller: SignCaller,
    meta: { algorithm: string | null; ids: readonly string[]; sha?: readonly string[] },
    fn: (setKey: (k: SigningKey) => void) => Promise<T>,
  ): Promise<T> {
    if (closed) {
      throw signError('ERR_SIGN_CLOSED');
    }
    let key: SigningKey | undefined;
    try {
      return await fn((k) => {
        key = k;
      });
    } catch (err) {
      if (
        (isServiceError(err) && err.code === 'ERR_SIGN_AUDIT_FAILED') ||
        (err instanceof Error && audited.has(err))
      ) {
        throw err;
      }
      await record([
        entry(caller, key, {
          algorithm: meta.algorithm,
          sha: meta.sha ?? [],
          ids: meta.ids,
          code: codeOf(err),
        }),
      ]);
      throw err;
    }
  }

  async function keyFor(
    caller: SignCaller,
    at: readonly Date[],
    setKey: (k: SigningKey) => void,
  ): Promise<SigningKey> {
    const key = await session.acquire(
      caller.pin,
      caller.pinFrom !== undefined ? { from: caller.pinFrom } : {},
    );
    setKey(key);
    for (const t of at) {
      checkCertificateUsage(key.certificate, t);
    }
    const last = pathChecked.get(key);
    const t = now();
    if (o.trust !== undefined && (last === undefined || t.getTime() - last > PATH_CACHE_MS)) {
      await checkSigningPolicy(key.certificate, t, o.trust);
      pathChecked.set(key, t.getTime());
    }
    return key;
  }

  function timestampOf(ts: string | undefined): Date | undefined {
    if (ts === undefined) {
      return undefined;
    }
    try {
      isoToHl7Timestamp(ts);
    } catch (cause) {
      throw signError('ERR_SIGN_TIMESTAMP_INVALID', { cause });
    }
    return new Date(ts);
  }

  async function signEpsBatch(
    request: EpsBatchRequest,
    caller: SignCaller,
  ): Promise<EpsBatchResult> {
    // Copy the caller's request before the first await (STYLE 21).
    const payloads = Array.isArray(request.payloads)
      ? request.payloads
          .slice(0, MAX_EPS_BATCH + 1)
          .map((p) => ({ id: String(p.id), payload: p.payload }))
      : [];
    const ids = payloads.map((p) => p.id);
    const alg =
      typeof request.algorithm === 'string' && PRINTABLE_ID.test(request.algorithm)
        ? request.algorithm
        : null;
    const timestamp = request.timestamp;
    return guarded(caller, { algorithm: alg, ids }, async (setKey) => {
      if (payloads.length === 0) {
        throw signError('ERR_SIGN_BAD_INPUT');
      }
      if (payloads.length > MAX_EPS_BATCH) {
        throw signError('ERR_SIGN_BATCH_TOO_LARGE');
      }
      const algorithm = parseEpsAlgorithm(request.algorithm);
      const ts = timestampOf(timestamp);
      const key = await keyFor(caller, ts === undefined ? [now()] : [now(), ts], setKey);
      const items: EpsItem[] = [];
      const failed: EpsBatchResult['failed_signatures'] = [];
      const records: AuditEntry[] = [];
      for (const p of payloads) {
        try {
          if (!PRINTABLE_ID.test(p.id)) {
            throw signError('ERR_SIGN_BAD_INPUT');
          }
          items.push({ id: p.id, bytes: decodeEpsPayload(p.payload, algorithm) });
        } catch (err) {
          const code = codeOf(err);
          failed.push({ id: p.id, code, message: messageOf(code) });
          records.push(entry(caller, key, { algorithm, sha: [], ids: [p.id], code }));
        }
      }
      const outcomes = await signEpsItems(session, key, algorithm, items);
      const signatures: EpsBatchResult['signatures'] = [];
      const signedSha: string[] = [];
      for (const r of outcomes) {
        if (r.ok) {
          signatures.push({ id: r.id, signature: Buffer.from(r.signature).toString('base64') });
          signedSha.push(r.sha256);
          records.push(entry(caller, key, { algorithm, sha: [r.sha256], ids: [r.id], code: null }));
        } else {
          failed.push({ id: r.id, code: r.code, message: messageOf(r.code) });
          records.push(
            entry(caller, key, { algorithm, sha: [r.sha256], ids: [r.id], code: r.code }),
          );
        }
      }
      await record(records);
      if (signatures.length > 0) {
        o.events?.({
          type: 'signature.made',
          kind: 'eps',
          documentIds: signatures.map((x) => x.id),
          sha256: signedSha,
          client: caller.client,
        });
      }
      return { certificate: key.certificateB64, signatures, failed_signatures: failed };
    });
  }

  return {
    session,
    signEpsBatch,
    async signEpsDigest(request, caller) {
      const digest = request.digest;
      const timestamp = request.timestamp ?? now().toISOString();
      const bundle = request.bundle;
      const res = await signEpsBatch(
        { payloads: [{ id: 'digest', payload: digest }], algorithm: request.algorithm, timestamp },
        caller,
      );
      const sig = res.signatures[0];
      if (sig === undefined) {
        const f = res.failed_signatures[0];
        throw signError(
          f !== undefined && f.code.startsWith('ERR_SIGN_')
            ? (f.code as Parameters<typeof signError>[0])
            : 'ERR_SIGN_CARD_FAILED',
        );
      }
      // Signed, so the batch has already decoded and checked it strictly (decodeEpsPayload).
      const signedInfo = Buffer.from(digest, 'base64');
      const signatureXml = xmlDsigSignature(signedInfo, sig.signature, res.certificate);
      return {
        signature: sig.signature,
        certificate: res.certificate,
        signatureXml,
        provenance: provenanceEntry({ bundle, signatureXml, timestamp, recorded: now() }),
      };
    },
    async signHl7(xml, caller, opts = {}) {
      const input = typeof xml === 'string' ? xml : Uint8Array.from(xml);
      const algorithm = opts.algorithm ?? 'RS256';
      return guarded(caller, { algorithm, ids: [] }, async (setKey) => {
        parseEpsAlgorithm(algorithm);
        const at = now();
        const key = await keyFor(caller, [at], setKey);
        const prepared = prepareHl7(input, at, algorithm);
        const ids = prepared.prescriptionId === null ? [] : [prepared.prescriptionId];
        const sha = sha256Hex(prepared.signedInfo);
        const { mechanism } = epsMechanism(algorithm);
        let signature: Uint8Array;
        try {
          signature = await session.sign(key, mechanism, prepared.signedInfo);
        } catch (err) {
          await record([entry(caller, key, { algorithm, sha: [sha], ids, code: codeOf(err) })]);
          throw markAudited(err);
        }
        const sigB64 = Buffer.from(signature).toString('base64');
        const out = placeSignature(
          prepared,
          xmlDsigSignature(prepared.signedInfo, sigB64, key.certificateB64),
        );
        const ok = checkSignedHl7(out, prepared.signedInfo, algorithm, key.publicKey, signature);
        const code = ok ? null : 'ERR_SIGN_SELF_CHECK_FAILED';
        await record([entry(caller, key, { algorithm, sha: [sha], ids, code })]);
        if (!ok) {
          throw markAudited(signError('ERR_SIGN_SELF_CHECK_FAILED'));
        }
        o.events?.({
          type: 'signature.made',
          kind: 'hl7',
          documentIds: ids,
          sha256: [sha],
          client: caller.client,
        });
        return {
          xml: out,
          signature: sigB64,
          certificate: key.certificateB64,
          authorTime: prepared.authorTime,
        };
      });
    },
    async signCms(content, caller, opts = {}) {
      const bytes = content instanceof Uint8Array ? Uint8Array.from(content) : new Uint8Array(0);
      const options = { ...opts };
      const sha = sha256Hex(bytes);
      return guarded(
        caller,
        { algorithm: 'CAdES-BES-SHA256', ids: [], sha: [sha] },
        async (setKey) => {
          if (bytes.length === 0 || bytes.length > MAX_CMS_CONTENT_BYTES) {
            throw signError('ERR_SIGN_BAD_INPUT');
          }
          const at = now();
          const key = await keyFor(caller, [at], setKey);
          const cms = await signContentCms(session, key, bytes, { ...options, signingTime: at });
          await record([
            entry(caller, key, { algorithm: 'CAdES-BES-SHA256', sha: [sha], ids: [], code: null }),
          ]);
          o.events?.({
            type: 'signature.made',
            kind: 'cms',
            documentIds: [],
            sha256: [sha],
            client: caller.client,
          });
          return cms;
        },
      );
    },
    async refuse(caller, code, documentIds = []) {
      await record([
        entry(caller, undefined, { algorithm: null, sha: [], ids: documentIds, code }),
      ]);
    },
    close() {
      closed = true;
      session.close();
    },
  };
}
