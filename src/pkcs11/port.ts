/**
 * The one small typed port through which the rest of rxsign talks to a card. The real implementation runs
 * PKCS#11 in a worker thread (worker-port.ts); a fault-injecting fake for tests implements the same interface.
 */
import type {
  CardCertificate,
  CardEvent,
  LoginState,
  SignRequest,
  SlotInfo,
  TokenSelector,
} from './types.js';

export interface TokenPort {
  /** Every slot and its token. */
  listSlots(): Promise<SlotInfo[]>;
  /** C_Login with the PIN, tried exactly once. Rejects with a PIN error code carrying the tries-left hint. */
  login(token: TokenSelector, pin: string): Promise<void>;
  logout(token: TokenSelector): Promise<void>;
  loginState(token: TokenSelector): Promise<LoginState>;
  certificates(token: TokenSelector): Promise<CardCertificate[]>;
  /**
   * Signs with the private key whose CKA_ID is `request.keyId`. Concurrent calls run in parallel on the
   * token's sessions (as many as the port allows) and may settle in any order; a call made after a login,
   * logout or certificates call starts after it, one made before it finishes before it starts.
   */
  sign(token: TokenSelector, request: SignRequest): Promise<Uint8Array>;
  /** Card events; returns the unsubscribe function. */
  subscribe(listener: (event: CardEvent) => void): () => void;
  /** Lets accepted work finish, then logout → close → finalize. Later calls reject with ERR_PKCS11_SHUTDOWN. */
  close(): Promise<void>;
}
