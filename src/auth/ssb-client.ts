/**
 * HTTP client for the Spine Security Broker (CIS/GAS): authactivate, authvalidate, RoleSelectionGP, authlogout.
 *
 * Rules it enforces (docs/style.md §31): `redirect: 'manual'`, a timeout on every call (AbortSignal.timeout), an exact
 * status check, typed errors for unreachable/slow/garbage answers, an injectable fetch. Retries with backoff
 * only where a repeat is harmless: authactivate (a fresh challenge), role selection and logout (idempotent);
 * never authvalidate (a challenge is answered once). A reply is read up to {@link MAX_REPLY} bytes and no
 * further: a peer that announces or streams more is refused without being buffered.
 */
import {
  buildActivateRequest,
  buildLogoutRequest,
  buildValidateRequest,
  gpParamMap,
  parseGpObject,
  type ClientIdentity,
  type GpParam,
} from './wire/gpobject.js';
import { authError } from './errors.js';
import { isServiceError } from '../errors.js';

export type Fetch = typeof fetch;

export interface SsbClientOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly fetch?: Fetch;
  /** Retries for the safe calls (default 2), with backoff base `backoffMs` (default 200 ms). */
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly userAgent?: string;
}

/** Largest reply body read, in bytes (real replies are a few KiB). */
const MAX_REPLY = 2 * 1024 * 1024;

/**
 * The body as text (UTF-8, as `Response.text()`), or `undefined` once it is over `maxBytes`: the stream is
 * cancelled there, so a hostile or broken peer cannot make us buffer more than that.
 */
async function boundedText(res: Response, maxBytes: number): Promise<string | undefined> {
  if (Number(res.headers.get('content-length') ?? '0') > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.body === null) {
    return '';
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    text += decoder.decode(r.value, { stream: true });
  }
  return text + decoder.decode();
}

export class SsbClient {
  readonly #o: Required<Omit<SsbClientOptions, 'fetch'>> & { fetch: Fetch };
  #reachable: boolean | null = null;

  /** Whether the last call reached the broker (any HTTP answer); null before the first call. */
  get reachable(): boolean | null {
    return this.#reachable;
  }

  /** The broker's base URL. */
  get baseUrl(): string {
    return this.#o.baseUrl;
  }

  constructor(o: SsbClientOptions) {
    this.#o = {
      baseUrl: o.baseUrl.replace(/\/+$/, ''),
      timeoutMs: o.timeoutMs,
      fetch: o.fetch ?? fetch,
      retries: o.retries ?? 2,
      backoffMs: o.backoffMs ?? 200,
      userAgent: o.userAgent ?? 'Mozilla/4.0(compatible;IE;GACv10. 0. 0. 1) rxsign/0.1',
    };
  }

  async #request(
    path: string,
    init: { method: 'GET' | 'POST'; body?: string; signal?: AbortSignal; gpObjectOn4xx?: boolean },
  ): Promise<string> {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
    let res: Response;
    try {
      res = await this.#o.fetch(`${this.#o.baseUrl}${path}`, {
        method: init.method,
        redirect: 'manual',
        signal,
        headers: {
          'user-agent': this.#o.userAgent,
          ...(init.body ? { 'content-type': 'text/xml' } : {}),
        },
        ...(init.body ? { body: init.body } : {}),
      });
    } catch (cause) {
      if (init.signal?.aborted) {
        throw authError('ERR_USER_ABORT', { cause });
      }
      this.#reachable = false;
      throw authError('ERR_AUTHSERVER_NOT_AVAILABLE', {
        cause,
        detail: { path: path.split('?')[0] },
      });
    }
    this.#reachable = true;
    // A refused login may come with a 4xx status and a gpOBJECT body naming the reason (docs/spine-sim.md).
    const refusal = init.gpObjectOn4xx === true && res.status >= 400 && res.status < 500;
    if (res.status !== 200 && !refusal) {
      await res.body?.cancel().catch(() => undefined);
      throw authError(
        res.status >= 500 ? 'ERR_AUTHSERVER_NOT_AVAILABLE' : 'ERR_AUTHDATA_SYNTAX_ERROR',
        {
          detail: { path: path.split('?')[0], status: res.status },
        },
      );
    }
    let text: string | undefined;
    try {
      text = await boundedText(res, MAX_REPLY);
    } catch (cause) {
      throw authError('ERR_AUTHSERVER_NOT_AVAILABLE', { cause });
    }
    if (text === undefined) {
      throw authError('ERR_AUTHDATA_SYNTAX_ERROR', { detail: { reason: 'reply too large' } });
    }
    return text;
  }

  async #retrying<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retryable = isServiceError(err) && err.code === 'ERR_AUTHSERVER_NOT_AVAILABLE';
        if (!retryable || attempt >= this.#o.retries || signal?.aborted) {
          throw err;
        }
        await new Promise((r) => setTimeout(r, this.#o.backoffMs * 2 ** attempt));
      }
    }
  }

  #gp(text: string): GpParam[] {
    try {
      return parseGpObject(text);
    } catch (cause) {
      throw authError('ERR_AUTHDATA_SYNTAX_ERROR', { cause });
    }
  }

  /** Step A (§1.2): a challenge and the server's signature over it. */
  activate(
    id: ClientIdentity,
    signal?: AbortSignal,
  ): Promise<{ challenge: string; signature: string }> {
    return this.#retrying(async () => {
      const text = await this.#request('/login/authactivate', {
        method: 'POST',
        body: buildActivateRequest(id),
        ...(signal ? { signal } : {}),
      });
      const m = gpParamMap(this.#gp(text));
      const challenge = m.get('challenge');
      const signature = m.get('signature');
      if (!challenge || !signature) {
        throw authError('ERR_AUTHDATA_SYNTAX_ERROR', {
          detail: { reason: 'no challenge in reply' },
        });
      }
      return { challenge, signature };
    }, signal);
  }

  /** Step B (§1.4): the card-signed response; the reply's parameters (sso_ticket absent on rejection). */
  async validate(
    fields: Parameters<typeof buildValidateRequest>[0],
    signal?: AbortSignal,
  ): Promise<GpParam[]> {
    const text = await this.#request('/login/authvalidate', {
      method: 'POST',
      body: buildValidateRequest(fields),
      gpObjectOn4xx: true,
      ...(signal ? { signal } : {}),
    });
    return this.#gp(text);
  }

  /** Step C (§1.5): role selection. */
  selectRole(ticket: string, roleId: string): Promise<void> {
    return this.#retrying(async () => {
      const q = new URLSearchParams({
        token: ticket,
        selectedRoleUid: roleId,
        ssbMode: '0',
        fallbackStatus: '0',
        gacVersion: 'GACv10. 0. 0. 1',
      });
      const text = await this.#request(`/saml/RoleSelectionGP.jsp?${q.toString()}`, {
        method: 'GET',
      });
      if (!/<STATUS>\s*OK\s*<\/STATUS>/i.test(text)) {
        throw authError('ERR_ROLE_UNKNOWN');
      }
    });
  }

  /** §1.6: destroys the session at the broker. */
  logout(
    fields: ClientIdentity & { ticket: string; uid: string },
    timeoutMs?: number,
  ): Promise<void> {
    const client =
      timeoutMs === undefined ? this : new SsbClient({ ...this.#o, timeoutMs, retries: 0 });
    return client.#retrying(async () => {
      await client.#request('/login/authlogout', {
        method: 'POST',
        body: buildLogoutRequest(fields),
      });
    });
  }
}
