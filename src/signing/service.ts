/**
 * The signing service: policy → card → self-check → audit → result, for EPS batches, HL7 v3 and CMS.
 *
 * Rules:
 * - every signature made (each signed EPS item, HL7 document, CMS) is one audit record; a refused or failed
 *   request is ONE record (with `items`, the number of items it held), and the items of a batch that are
 *   refused or fail with the same code are one record too, so a batch of 250 bad payloads writes one record,
 *   not 250 (no audit flooding); a call's records are appended in ONE append, and the call returns only after
 *   the append resolved (fsync); if the audit fails, no signature is returned (ERR_SIGN_AUDIT_FAILED);
 * - before any card operation the audit log's free-space reserve is checked (`ensureSpace`): below it every
 *   signing request is refused with ERR_AUDIT_DISK_FULL (audited) until space is freed;
 * - a batch's payload ids are unique (the answer names each signature by its id): a repeated id refuses the
 *   whole batch (ERR_SIGN_BAD_INPUT) before any card operation;
 * - policy (algorithm allowlist, certificate usage, validity, PKUP, path and revocation) runs before signing;
 *   the certificate is checked at the signing time (now) and, for EPS, at the `$prepare` timestamp as well;
 * - caller input is copied before the first await (docs/style.md §21); the PIN is passed to the card only.
 *
 * The audit records themselves (their fields, outcome and code) are built by audit-trail.ts.
 */
import type { EmitEvent } from '../events.js';
import { ServiceError, isServiceError } from '../errors.js';
import type { AuditEntry, AuditLog } from '../audit/index.js';
import { auditTrail, codeOf, PRINTABLE_ID } from './audit-trail.js';
import type { TokenPort, TokenSelector } from '../pkcs11/index.js';
import type { PinGuard, PinSource } from '../pin/index.js';
import { type SignatureAlgorithm, isoToHl7Timestamp } from '../prescription/index.js';
import {
  FHIR_ERRORS,
  describePrescription,
  prepareBundle,
  readBundle,
  stringifyJsonLossless,
  type PrescriptionSummary,
} from '../prescription/fhir/index.js';
import {
  openCardSession,
  type CardSession,
  type PinPolicy,
  type SigningKey,
} from './card-session.js';
import { MAX_CMS_CONTENT_BYTES, signContentCms, type CmsSignOptions } from './cms.js';
import {
  MAX_EPS_BATCH,
  checkDistinctIds,
  decodeEpsPayload,
  epsMechanism,
  parseEpsAlgorithm,
  sha256Hex,
  signEpsItems,
  xmlDsigSignature,
  type EpsItem,
} from './eps.js';
import { SIGN_ERRORS, signError } from './errors.js';
import { provenanceEntry, type ProvenanceEntry } from './provenance.js';
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

/**
 * An EPS batch request (NHS Credential Management `signPrescription` payload shape). A payload may carry the
 * FHIR prescription-order `bundle` its digest was prepared from (an object, or its JSON text, which keeps
 * decimals as written): the SignedInfo is then recomputed from the Bundle with `timestamp` (required then) and
 * signed only when it is the same, byte for byte (docs/signing.md "What you see is what you sign").
 */
export interface EpsBatchRequest {
  readonly payloads: readonly {
    readonly id: string;
    readonly payload: string;
    readonly bundle?: unknown;
  }[];
  readonly algorithm: string;
  readonly timestamp?: string;
}

/** One signed payload: the raw signature and what integrators otherwise assemble by hand. */
export interface EpsSignedItem {
  id: string;
  /** base64 RSA signature over the SignedInfo. */
  signature: string;
  /** The XML-DSig `Signature` (docs/protocol/eps-signing.md §1.6). */
  signatureXml: string;
  /** The Provenance Bundle entry for $process-message (§3.3). */
  provenance: ProvenanceEntry;
  /** With a Bundle: what was signed, in words. */
  prescription?: PrescriptionSummary;
  /** With a Bundle: the Bundle with the Provenance added, as JSON text (numbers as given), for $process-message. */
  bundle?: string;
}

/** The answer, shaped like NHS Credential Management's `signPrescription`, plus the assembled parts. */
export interface EpsBatchResult {
  certificate: string;
  signatures: EpsSignedItem[];
  failed_signatures: {
    id: string;
    code: string;
    message: string;
    issues?: { path: string; message: string }[];
  }[];
}

/** One `$prepare` result signed: raw signature, certificate, XML-DSig and Provenance entry (and, with a
 * Bundle, what was signed and the Bundle ready for $process-message). */
export interface EpsDigestResult {
  signature: string;
  certificate: string;
  signatureXml: string;
  provenance: ProvenanceEntry;
  prescription?: PrescriptionSummary;
  bundle?: string;
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

const PATH_CACHE_MS = 60_000;

/** The Bundle read now (a copy), or the error to report for its item. */
function readBundleOrError(bundle: unknown): ReturnType<typeof readBundle> | Error {
  try {
    return readBundle(bundle as string | object);
  } catch (err) {
    return err instanceof Error ? err : new Error('bundle');
  }
}

/** Per-item messages of `failed_signatures`: the table's, except where an item is not the whole request. */
const ITEM_MESSAGES: Readonly<Record<string, string>> = {
  ERR_SIGN_BAD_PAYLOAD: SIGN_ERRORS.ERR_SIGN_BAD_PAYLOAD.message,
  ERR_SIGN_ALGORITHM_UNSUPPORTED: SIGN_ERRORS.ERR_SIGN_ALGORITHM_UNSUPPORTED.message,
  ERR_SIGN_CARD_REMOVED: SIGN_ERRORS.ERR_SIGN_CARD_REMOVED.message,
  ERR_SIGN_SELF_CHECK_FAILED: SIGN_ERRORS.ERR_SIGN_SELF_CHECK_FAILED.message,
  ERR_SIGN_BAD_INPUT: 'the item is not valid',
  ERR_SIGN_DIGEST_MISMATCH: SIGN_ERRORS.ERR_SIGN_DIGEST_MISMATCH.message,
  ERR_SIGN_TIMESTAMP_INVALID: SIGN_ERRORS.ERR_SIGN_TIMESTAMP_INVALID.message,
  ERR_FHIR_JSON_INVALID: FHIR_ERRORS.ERR_FHIR_JSON_INVALID.message,
  ERR_FHIR_NOT_PRESCRIPTION_ORDER: FHIR_ERRORS.ERR_FHIR_NOT_PRESCRIPTION_ORDER.message,
  ERR_FHIR_ELEMENT_MISSING: FHIR_ERRORS.ERR_FHIR_ELEMENT_MISSING.message,
  ERR_FHIR_ELEMENT_INVALID: FHIR_ERRORS.ERR_FHIR_ELEMENT_INVALID.message,
  ERR_FHIR_ELEMENT_UNSUPPORTED: FHIR_ERRORS.ERR_FHIR_ELEMENT_UNSUPPORTED.message,
};

/** The FHIR path issues of an error (FHIR translation errors carry them), for failed_signatures. */
function issuesOf(err: unknown): { path: string; message: string }[] | undefined {
  const issues = isServiceError(err) ? err.detail?.issues : undefined;
  return Array.isArray(issues) ? (issues as { path: string; message: string }[]) : undefined;
}

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
  const { entry, record, markAudited, isAudited } = auditTrail(o.audit);

  /** Runs `fn`; a thrown refusal/failure is audited (one record) and rethrown. */
  async function guarded<T>(
    caller: SignCaller,
    meta: {
      algorithm: string | null;
      ids: readonly string[];
      sha?: readonly string[];
      items?: number;
    },
    fn: (setKey: (k: SigningKey) => void) => Promise<T>,
  ): Promise<T> {
    if (closed) {
      throw signError('ERR_SIGN_CLOSED');
    }
    let key: SigningKey | undefined;
    try {
      // Before any card operation: signing stops with a clear error before the audit disk is full.
      await o.audit.ensureSpace();
      return await fn((k) => {
        key = k;
      });
    } catch (err) {
      if ((isServiceError(err) && err.code === 'ERR_SIGN_AUDIT_FAILED') || isAudited(err)) {
        throw err;
      }
      await record([
        entry(caller, key, {
          algorithm: meta.algorithm,
          sha: meta.sha ?? [],
          ids: meta.ids,
          code: codeOf(err),
          ...(meta.items !== undefined ? { items: meta.items } : {}),
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
    // Copy the caller's request before the first await (docs/style.md §21).
    const payloads = Array.isArray(request.payloads)
      ? request.payloads.slice(0, MAX_EPS_BATCH + 1).map((p) => ({
          id: String(p.id),
          payload: p.payload,
          // A Bundle object is read (and so copied) now, before the first await.
          bundle: p.bundle === undefined ? undefined : readBundleOrError(p.bundle),
        }))
      : [];
    const ids = payloads.map((p) => p.id);
    const alg =
      typeof request.algorithm === 'string' && PRINTABLE_ID.test(request.algorithm)
        ? request.algorithm
        : null;
    const timestamp = request.timestamp;
    return guarded(caller, { algorithm: alg, ids, items: payloads.length }, async (setKey) => {
      if (payloads.length === 0) {
        throw signError('ERR_SIGN_BAD_INPUT');
      }
      if (payloads.length > MAX_EPS_BATCH) {
        throw signError('ERR_SIGN_BATCH_TOO_LARGE');
      }
      checkDistinctIds(ids);
      const algorithm = parseEpsAlgorithm(request.algorithm);
      const ts = timestampOf(timestamp);
      // Every payload is decoded and checked (EPS's SignedInfo template) before any card operation.
      const items: EpsItem[] = [];
      const failed: EpsBatchResult['failed_signatures'] = [];
      const withBundle = new Map<string, { summary: PrescriptionSummary; root: object }>();
      const notSigned = new Map<string, { ids: string[]; sha: string[] }>();
      const notSignedItem = (
        id: string,
        code: string,
        sha?: string,
        issues?: ReturnType<typeof issuesOf>,
      ): void => {
        failed.push({ id, code, message: messageOf(code), ...(issues ? { issues } : {}) });
        const group = notSigned.get(code) ?? { ids: [], sha: [] };
        group.ids.push(id);
        if (sha !== undefined) {
          group.sha.push(sha);
        }
        notSigned.set(code, group);
      };
      for (const p of payloads) {
        let sha: string[] = [];
        try {
          if (!PRINTABLE_ID.test(p.id)) {
            throw signError('ERR_SIGN_BAD_INPUT');
          }
          const bytes = decodeEpsPayload(p.payload, algorithm);
          const sha256 = sha256Hex(bytes);
          sha = [sha256];
          if (p.bundle !== undefined) {
            // What you see is what you sign: the SignedInfo must be the Bundle's, byte for byte.
            if (p.bundle instanceof Error) {
              throw p.bundle;
            }
            if (timestamp === undefined) {
              throw signError('ERR_SIGN_TIMESTAMP_INVALID');
            }
            const prepared = prepareBundle(p.bundle, { timestamp, algorithm });
            if (!Buffer.from(prepared.signedInfo).equals(Buffer.from(bytes))) {
              throw signError('ERR_SIGN_DIGEST_MISMATCH');
            }
            withBundle.set(p.id, { summary: describePrescription(p.bundle), root: p.bundle.root });
          }
          items.push({ id: p.id, bytes, sha256 });
        } catch (err) {
          const code = codeOf(err);
          notSignedItem(p.id, code, sha[0], issuesOf(err));
        }
      }
      const key = await keyFor(caller, ts === undefined ? [now()] : [now(), ts], setKey);
      const outcomes = items.length === 0 ? [] : await signEpsItems(session, key, algorithm, items);
      const signatures: EpsBatchResult['signatures'] = [];
      const when = timestamp ?? now().toISOString();
      const records: AuditEntry[] = [];
      const signedSha: string[] = [];
      // signEpsItems answers in item order, one outcome per item.
      for (const [index, r] of outcomes.entries()) {
        if (r.ok) {
          const signature = Buffer.from(r.signature).toString('base64');
          signedSha.push(r.sha256);
          const item = items[index];
          const signatureXml = xmlDsigSignature(
            item?.bytes ?? new Uint8Array(),
            signature,
            key.certificateB64,
          );
          const fhir = withBundle.get(r.id);
          const provenance = provenanceEntry({
            ...(fhir === undefined ? {} : { bundle: fhir.root }),
            signatureXml,
            timestamp: when,
            recorded: now(),
          });
          const withProvenance = (root: { entry?: unknown }): string =>
            stringifyJsonLossless({
              ...root,
              entry: [...(Array.isArray(root.entry) ? root.entry : []), provenance],
            });
          signatures.push({
            id: r.id,
            signature,
            signatureXml,
            provenance,
            ...(fhir === undefined
              ? {}
              : { prescription: fhir.summary, bundle: withProvenance(fhir.root) }),
          });
          records.push(entry(caller, key, { algorithm, sha: [r.sha256], ids: [r.id], code: null }));
        } else {
          notSignedItem(r.id, r.code, r.sha256);
        }
      }
      // One record per code for the items that were not signed (with their count), not one per item.
      for (const [code, g] of notSigned) {
        records.push(
          entry(caller, key, { algorithm, sha: g.sha, ids: g.ids, code, items: g.ids.length }),
        );
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
      const bundle = request.bundle;
      if (bundle !== undefined && request.timestamp === undefined) {
        // The Bundle's digest depends on the time hashed: it cannot be checked without it.
        throw signError('ERR_SIGN_TIMESTAMP_INVALID');
      }
      const timestamp = request.timestamp ?? now().toISOString();
      const res = await signEpsBatch(
        {
          payloads: [
            { id: 'digest', payload: digest, ...(bundle === undefined ? {} : { bundle }) },
          ],
          algorithm: request.algorithm,
          timestamp,
        },
        caller,
      );
      const sig = res.signatures[0];
      if (sig === undefined) {
        const f = res.failed_signatures[0];
        if (f !== undefined && f.code.startsWith('ERR_FHIR_')) {
          throw new ServiceError(f.code, f.message, {
            ...(f.issues === undefined
              ? {}
              : { detail: { issues: f.issues, element: f.issues[0]?.path } }),
          });
        }
        throw signError(
          f !== undefined && f.code.startsWith('ERR_SIGN_')
            ? (f.code as Parameters<typeof signError>[0])
            : 'ERR_SIGN_CARD_FAILED',
        );
      }
      return {
        signature: sig.signature,
        certificate: res.certificate,
        signatureXml: sig.signatureXml,
        provenance: sig.provenance,
        ...(sig.prescription === undefined ? {} : { prescription: sig.prescription }),
        ...(sig.bundle === undefined ? {} : { bundle: sig.bundle }),
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
        entry(caller, undefined, {
          algorithm: null,
          sha: [],
          ids: documentIds,
          code,
          items: documentIds.length,
        }),
      ]);
    },
    close() {
      closed = true;
      session.close();
    },
  };
}
