/**
 * A token's sessions ("lanes"), the record of a token that has them open ({@link OpenToken}), and the one
 * signing step that runs on them. Like every file of this folder that talks to graphene-pk11 / pkcs11js
 * (driver.ts, slot-scan.ts, login.ts, certificates.ts), it runs inside the PKCS#11 worker thread.
 *
 * Rules it enforces:
 * - lane 0 is the token's main session: login, logout, login state, certificates and polls use it; further
 *   lanes are opened on demand, up to the configured count, only to sign. PKCS#11 login state belongs to the
 *   application and the token (v2.40 §5.6 C_Login: "all sessions" of the token), so every lane is logged in
 *   when lane 0 is, and none is logged in again;
 * - a lane runs one operation at a time (C_SignInit, then C_Sign): never CKR_OPERATION_ACTIVE;
 * - private-key handles are cached per lane (a handle is only promised to the session that found it, v2.40
 *   §2.4) and forgotten on login, logout and a key-handle failure;
 * - the asynchronous C_Sign (pkcs11js: the libuv thread pool) keeps its input buffer referenced until the
 *   callback runs: pkcs11js keeps the output buffer alive but not the input, which the pool thread still reads;
 * - a module that refuses another session (CKR_SESSION_COUNT, a card with few sessions) is used with the
 *   lanes it has: opening lanes is an optimisation, never a failure.
 */
import * as graphene from 'graphene-pk11';
import { pkcs11Error } from './errors.js';
import { isLoggedIn } from './login.js';
import type { TokenInfo } from './types.js';

/** One session of a token, used by one operation at a time. */
export interface Lane {
  readonly session: graphene.Session;
  busy: boolean;
  /** Private keys found on this session, by CKA_ID (hex). */
  readonly keys: Map<string, graphene.PrivateKey>;
}

/**
 * A token the driver has sessions on: driver.ts opens, logs in and drops it; sign-dispatch.ts signs on its
 * lanes; card-poll.ts reports its lost login.
 *
 * @example
 * ```ts
 * const o: OpenToken = openToken(slot, info);
 * ```
 */
export interface OpenToken {
  readonly slot: graphene.Slot;
  /** The main session (lanes[0].session). */
  readonly session: graphene.Session;
  /** lanes[0] wraps the main session; the others sign only. */
  readonly lanes: Lane[];
  readonly info: TokenInfo;
  loggedIn: boolean;
  /** Signatures of this token in flight on the pool. */
  inFlight: number;
  /** A signature showed the card has gone: nothing new starts here; the last one in flight drops it. */
  gone: boolean;
  /** The module refused another session: sign with the lanes there are. */
  full: boolean;
}

/** Largest signature accepted back from the module (RSA-8192); graphene uses the same size. */
const MAX_SIGNATURE_BYTES = 1024;

/** pkcs11js's CK_MECHANISM as graphene makes it. */
export type Pkcs11Mechanism = ReturnType<typeof graphene.Mechanism.create>;

const mechanisms = new Map<string, Pkcs11Mechanism>();

/**
 * The pkcs11js mechanism structure of an allowlisted name, made once (graphene would make one per call).
 *
 * @example
 * ```ts
 * lib.C_SignInit(session.handle, mechanismOf('SHA256_RSA_PKCS'), key.handle);
 * ```
 */
export function mechanismOf(name: string): Pkcs11Mechanism {
  let m = mechanisms.get(name);
  if (m === undefined) {
    m = graphene.Mechanism.create(name);
    mechanisms.set(name, m);
  }
  return m;
}

/**
 * Opens a lane on the token's slot, or returns undefined if the module refuses another session.
 *
 * @example
 * ```ts
 * const lane = openLane(slot) ?? busyWait();
 * ```
 */
export function openLane(slot: graphene.Slot): Lane | undefined {
  try {
    return {
      session: slot.open(graphene.SessionFlag.SERIAL_SESSION),
      busy: false,
      keys: new Map(),
    };
  } catch {
    return undefined;
  }
}

/**
 * Opens the main session of a token (lane 0) and reads its login state from the module, not from a cached flag:
 * another application may have logged the token in already. Throws the library error if the session cannot be
 * opened.
 *
 * @example
 * ```ts
 * const o = openToken(slot, info); // o.lanes.length === 1
 * ```
 */
export function openToken(slot: graphene.Slot, info: TokenInfo): OpenToken {
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
  return {
    slot,
    session,
    lanes: [{ session, busy: false, keys: new Map() }],
    info,
    loggedIn: isLoggedIn(session),
    inFlight: 0,
    gone: false,
    full: false,
  };
}

/** The private key with CKA_ID `keyId` as this lane's session sees it; ERR_PKCS11_KEY_NOT_FOUND if none. */
function keyOn(lane: Lane, keyId: string): graphene.PrivateKey {
  let key = lane.keys.get(keyId);
  if (key === undefined) {
    const found = lane.session.find({
      class: graphene.ObjectClass.PRIVATE_KEY,
      id: Buffer.from(keyId, 'hex'),
    });
    if (found.length === 0) {
      throw pkcs11Error('ERR_PKCS11_KEY_NOT_FOUND');
    }
    key = found.items(0).toType<graphene.PrivateKey>();
    lane.keys.set(keyId, key);
  }
  return key;
}

/**
 * C_SignInit on the lane (throws at once on failure), then C_Sign: on this thread when `done` is undefined
 * (returns the signature), else on the libuv pool (returns undefined; `done` gets the result). A failed
 * C_SignInit forgets the lane's cached key handle, so a stale handle is looked up again next time.
 *
 * @example
 * ```ts
 * const sig = signOnLane(lane, 'SHA256_RSA_PKCS', '02', data);
 * ```
 */
export function signOnLane(
  lane: Lane,
  mechanism: Pkcs11Mechanism,
  keyId: string,
  data: Uint8Array,
  done?: (err: unknown, signature?: Uint8Array) => void,
): Uint8Array | undefined {
  const { session } = lane;
  const lib = session.lib;
  try {
    lib.C_SignInit(session.handle, mechanism, keyOn(lane, keyId).handle);
  } catch (cause) {
    lane.keys.delete(keyId);
    throw cause;
  }
  // A view, not a copy: the bytes arrived by structured clone and belong to this thread.
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Not zeroed: only the bytes C_Sign writes are read back, and they are copied out before the answer.
  const out = Buffer.allocUnsafe(MAX_SIGNATURE_BYTES);
  if (done === undefined) {
    return Uint8Array.from(lib.C_Sign(session.handle, input, out));
  }
  // Held until the callback: the pool thread reads `input` and nothing else references it meanwhile. (pkcs11js
  // throws here only for arguments of the wrong type, which these never are; a worker that is terminated
  // while this runs waits for it: Node's environment clean-up waits for outstanding thread-pool requests.)
  const pinned: { input: Buffer | undefined } = { input };
  lib.C_Sign(session.handle, input, out, (err, signature) => {
    pinned.input = undefined;
    if (err) {
      done(err);
      return;
    }
    done(undefined, Uint8Array.from(signature));
  });
  return undefined;
}
