/**
 * The CIS2 authentication simulator as an HTTP handler: oidc-provider configured as CIS2 (docs/cis2-sign-in.md), plus
 * the sign-in pages (smartcard via the rxsign agent, and a labelled username form).
 *
 * Rules this file enforces:
 * - issuer = public URL + `/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare` (optionally with
 *   the port written out, `:443`-style); endpoints `/authorize`, `/access_token`, `/userinfo`,
 *   `/connect/jwk_uri`, `/connect/endSession`; authorization-code flow only; `private_key_jwt` (RS256, RS512)
 *   or client secret; no consent screen (CIS2 has none);
 * - a card sign-in needs a card assertion over a nonce this page issued (single use, bound to the
 *   interaction), the issuer as audience and this simulator's origin; it yields `acr AAL3_ANY`,
 *   `amr ["N3_SMARTCARD"]` and the agent's selected role; a refusal ends the sign-in with `access_denied`;
 * - `prompt=login` and `max_age` make the page ask the agent for a card login (PIN) made after the sign-in
 *   started (or within max_age);
 * - card sessions are watched through the agent; when one ends (card removed, logout), every OP session
 *   made with it ends too and registered clients get a back-channel logout token;
 * - oidc-provider's types stay in this folder.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import type {
  InteractionDetails,
  OidcContext,
  OidcGrant,
  Provider as ProviderType,
} from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import type { CrlInfo, RevocationPolicy } from '../cms/index.js';
import { loadConfig } from '../config.js';
import { readSecretFile } from '../runtime.js';
import { silentLogger, type Logger } from '../log.js';
import { type TrustStore, parseUsers, type SimUser } from '../spine-sim/index.js';
import { adapterFor, MemoryStore } from './adapter.js';
import { CardRefused, checkCardAssertion, type CardCheckContext } from './card-check.js';
import { CIS2_ACR_VALUES, CIS2_CLAIMS, claimsFor, type SignIn } from './claims.js';
import type { ClientMetadata } from './clients.js';
import { CARD_REFUSALS } from './errors.js';
import { escapeHtml, loginPage, rolePage } from './page.js';

export const CIS2_BASE_PATH = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare';
export const DEFAULT_AGENT_URL = 'http://127.0.0.1:8730';

export interface Cis2SimOptions {
  readonly users: readonly SimUser[];
  readonly trust: TrustStore;
  readonly crls?: readonly CrlInfo[];
  readonly clients: readonly ClientMetadata[];
  /** Where browsers and relying parties reach the simulator, e.g. `http://127.0.0.1:8732`. */
  readonly publicUrl: string;
  /** Write the issuer with its port even when it is the scheme's default (`https://host:443/…`). */
  readonly explicitPortIssuer?: boolean;
  /** The rxsign agent the login page asks for card assertions (default http://127.0.0.1:8730); a function
   * when the agent starts after the simulator (tests). */
  readonly agentUrl?: string | (() => string);
  /** The agent's key for the card watcher's server-side calls (docs/security.md: every local program sends
   * one). Default: this user's `api-key` in the agent's runtime folder, read at each poll (it changes at
   * each start of the agent). */
  readonly agentKey?: () => string | undefined;
  /** How often card sessions are checked with the agent, ms (default 1000; 0 = never). */
  readonly cardPollMs?: number;
  /** Unix ms for the card checks (default Date.now). */
  readonly clock?: () => number;
  readonly logger?: Logger;
  /** Default 'if-available', as the Security Broker simulator. */
  readonly revocation?: RevocationPolicy;
  /** Accept RSA-1024/SHA-1 CA signatures (the INT PKI); default true. */
  readonly allowLegacyCrypto?: boolean;
}

export interface Cis2SimApp {
  readonly handler: Express;
  readonly issuer: string;
  /** Ends every OP session made with this card session, with back-channel logout (the watcher calls it). */
  endCardSession(cardSid: string, reason: string): Promise<void>;
  /** Stops the card watcher. */
  close(): void;
}

interface Tracked {
  accountId: string;
  signIn: SignIn;
  cardSid: string | undefined;
  clients: Map<string, string | undefined>;
}

interface Pending {
  nonce: string;
  authAfter: number;
  expiresAt: number;
}

/** The issuer for a public base URL. */
export function issuerFor(publicUrl: string, explicitPort = false): string {
  const u = new URL(publicUrl);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const authority = explicitPort ? `${u.hostname}:${port}` : u.host;
  return `${u.protocol}//${authority}${CIS2_BASE_PATH}`;
}

async function loadProvider(): Promise<typeof ProviderType> {
  // oidc-provider prints a console warning at import on Node 20 (it asks for 22+); rxsign supports Node 20.19+
  // and logs through pino only, so that one notice is dropped here.
  /* eslint-disable no-console */
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('Unsupported runtime')) {
      warn(...args);
    }
  };
  try {
    return (await import('oidc-provider')).default;
  } finally {
    console.warn = warn;
  }
  /* eslint-enable no-console */
}

function promptsLogin(params: Readonly<Record<string, unknown>>): boolean {
  return typeof params.prompt === 'string' && params.prompt.split(' ').includes('login');
}

function field(req: Request, name: string): string | undefined {
  const v: unknown = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
}

const LOGOUT_PAGE = (form: string, host: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign out (rxsign CIS2 simulator)</title></head><body>
<h1>Sign out of ${escapeHtml(host)}?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;

/**
 * Builds the simulator.
 *
 * @example
 * ```ts
 * const sim = await createCis2SimApp({ users, trust, clients, publicUrl: 'http://127.0.0.1:8732' });
 * http.createServer(sim.handler).listen(8732, '127.0.0.1');
 * ```
 */
export async function createCis2SimApp(o: Cis2SimOptions): Promise<Cis2SimApp> {
  const Provider = await loadProvider();
  const logger = o.logger ?? silentLogger;
  const now = o.clock ?? Date.now;
  const users = new Map(parseUsers(o.users).map((u) => [u.uid, u]));
  const issuer = issuerFor(o.publicUrl, o.explicitPortIssuer ?? false);
  const origin = new URL(o.publicUrl).origin;
  const agentUrlOf = (): string =>
    (typeof o.agentUrl === 'function' ? o.agentUrl() : (o.agentUrl ?? DEFAULT_AGENT_URL)).replace(
      /\/+$/,
      '',
    );
  const agentKeyOf = (): string | undefined => {
    if (o.agentKey) {
      return o.agentKey();
    }
    try {
      return readSecretFile(join(loadConfig().runtimeDir, 'api-key'));
    } catch {
      return undefined; // the agent is not running (or its folder is unsafe): the poll fails and counts
    }
  };
  const cardCtx: CardCheckContext = {
    users,
    trust: { anchors: [...o.trust.anchors], intermediates: [...o.trust.intermediates] },
    crls: [...(o.crls ?? [])],
    revocation: o.revocation ?? 'if-available',
    allowLegacyCrypto: o.allowLegacyCrypto ?? true,
    audience: issuer,
    origin,
    now,
  };
  const tracked = new Map<string, Tracked>();
  const pending = new Map<string, Pending>();
  const firstSeen = new Map<string, number>();
  const store = new MemoryStore();

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  const signInOf = (sessionUid: unknown): SignIn | undefined =>
    typeof sessionUid === 'string' ? tracked.get(sessionUid)?.signIn : undefined;

  const provider = new Provider(issuer, {
    adapter: adapterFor(store),
    clients: o.clients.map((c) => ({ ...c })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: {
      authorization: '/authorize',
      token: '/access_token',
      userinfo: '/userinfo',
      jwks: '/connect/jwk_uri',
      end_session: '/connect/endSession',
    },
    responseTypes: ['code'],
    pkce: { required: () => false },
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'RS512'],
      idTokenSigningAlgValues: ['RS256', 'RS512'],
    },
    acrValues: [...CIS2_ACR_VALUES],
    claims: {
      // standalone claims (no scope): oidc-provider's defaults, plus amr (CIS2 sends it)
      acr: null,
      amr: null,
      sid: null,
      auth_time: null,
      iss: null,
      ...Object.fromEntries(Object.entries(CIS2_CLAIMS).map(([k, v]) => [k, [...v]])),
    },
    scopes: Object.keys(CIS2_CLAIMS),
    conformIdTokenClaims: true,
    clockTolerance: 5,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
      IdToken: 3600,
      RefreshToken: 12 * 3600,
      Interaction: 600,
      Session: 12 * 3600,
      Grant: 12 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: OidcContext, form: string) => {
          ctx.type = 'html';
          ctx.body = LOGOUT_PAGE(form, ctx.host);
        },
        postLogoutSuccessSource: (ctx: OidcContext) => {
          ctx.type = 'html';
          ctx.body =
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><h1 id="signed-out">You are signed out</h1></body></html>';
        },
      },
    },
    clientBasedCORS: () => false,
    renderError: (ctx: OidcContext, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><h1>Sign-in error</h1>${Object.entries(
        out,
      )
        .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`)
        .join('')}</body></html>`;
    },
    interactions: {
      url: (_ctx: OidcContext, interaction: { uid: string }) =>
        `${CIS2_BASE_PATH}/interaction/${interaction.uid}`,
    },
    // The relying parties are local test servers: oidc-provider's guard against special-use (loopback)
    // addresses would stop back-channel logout to them. The only URLs fetched are registered clients' ones.
    fetch: (url: string, options: Record<string, unknown>) => {
      const rest: Record<string, unknown> = { ...options };
      delete rest.dispatcher;
      return fetch(url, rest as RequestInit);
    },
    loadExistingGrant: async (ctx: OidcContext): Promise<OidcGrant | undefined> => {
      const { client, session, provider: p } = ctx.oidc;
      if (!client || !session?.accountId) {
        return undefined;
      }
      // CIS2 shows no consent screen: every scope and claim the client asks for is granted.
      const grantId = session.grantIdFor(client.clientId);
      const grant =
        (grantId ? await p.Grant.find(grantId) : undefined) ??
        new p.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    findAccount: (ctx: OidcContext, sub: string, token?: { sessionUid?: string }) => {
      const user = users.get(sub);
      if (user === undefined) {
        return undefined;
      }
      const signIn = signInOf(token?.sessionUid) ?? signInOf(ctx.oidc.session?.uid);
      return {
        accountId: sub,
        claims: (_use: string, scope: string) =>
          claimsFor(user, signIn, scope, `${randomUUID()}-${Math.floor(now() / 1000)}`),
      };
    },
  });
  provider.proxy = false;
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    logger.error({ errorName: err.name }, 'cis2-sim provider error');
  });
  provider.on('authorization.success', (ctx: OidcContext) => {
    const { session, client, result } = ctx.oidc;
    if (!session?.accountId || !client) {
      return;
    }
    const fresh = result?.rxsign as { signIn: SignIn; cardSid?: string } | undefined;
    let t = tracked.get(session.uid);
    if (fresh) {
      const clients = t?.accountId === session.accountId ? t.clients : new Map<string, string>();
      t = { accountId: session.accountId, signIn: fresh.signIn, cardSid: fresh.cardSid, clients };
      tracked.set(session.uid, t);
    }
    t?.clients.set(client.clientId, session.authorizations?.[client.clientId]?.sid);
  });

  async function endCardSession(cardSid: string, reason: string): Promise<void> {
    for (const [uid, t] of [...tracked]) {
      if (t.cardSid !== cardSid) {
        continue;
      }
      tracked.delete(uid);
      logger.info({ uid: t.accountId, reason }, 'card session ended: ending its CIS2 sessions');
      const session = await provider.Session.findByUid(uid);
      await session?.destroy();
      for (const [clientId, sid] of t.clients) {
        const client = await provider.Client.find(clientId);
        if (client?.backchannelLogoutUri && sid) {
          try {
            await client.backchannelLogout(t.accountId, sid);
          } catch (err) {
            logger.warn(
              { clientId, errorName: err instanceof Error ? err.name : 'unknown' },
              'back-channel logout failed',
            );
          }
        }
      }
    }
  }

  // The card watcher: asks the agent whether the card sessions behind live OP sessions still exist.
  let failures = 0;
  let polling = false;
  const poll = async () => {
    const sids = new Set(
      [...tracked.values()].map((t) => t.cardSid).filter((s) => s !== undefined),
    );
    if (polling || sids.size === 0) {
      return;
    }
    polling = true;
    try {
      let current: string | undefined;
      try {
        const key = agentKeyOf();
        const res = await fetch(`${agentUrlOf()}/api/v1/cis2/session`, {
          signal: AbortSignal.timeout(2000),
          ...(key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }),
        });
        const body = (await res.json()) as { active?: unknown; cardSessionId?: unknown };
        if (!res.ok) {
          throw new Error(`agent answered ${res.status}`);
        }
        failures = 0;
        current =
          body.active === true && typeof body.cardSessionId === 'string'
            ? body.cardSessionId
            : undefined;
      } catch {
        failures += 1;
        if (failures < 3) {
          return;
        }
        current = undefined; // the agent has been unreachable three times: no card session to vouch for
      }
      for (const sid of sids) {
        if (sid !== current) {
          await endCardSession(sid, current === undefined ? 'no card session' : 'new card session');
        }
      }
    } finally {
      polling = false;
    }
  };
  const pollMs = o.cardPollMs ?? 1000;
  const timer = pollMs > 0 ? setInterval(() => void poll(), pollMs) : undefined;
  timer?.unref();
  const sweeper = setInterval(() => {
    store.sweep();
    const t = now();
    for (const [uid, p] of pending) {
      if (p.expiresAt <= t) {
        pending.delete(uid);
      }
    }
    for (const [uid, seen] of firstSeen) {
      if (seen + 600_000 <= t) {
        firstSeen.delete(uid);
      }
    }
  }, 60_000);
  sweeper.unref();

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const form = express.urlencoded({ extended: false, limit: '96kb', parameterLimit: 10 });
  const interactionPath = `${CIS2_BASE_PATH}/interaction/:uid`;

  const page = (res: Response, status: number, html: string, cspNonce: string) => {
    res
      .status(status)
      .set({
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy': `default-src 'none'; script-src 'nonce-${cspNonce}'; style-src 'nonce-${cspNonce}'; connect-src ${new URL(agentUrlOf()).origin}; base-uri 'none'; frame-ancestors 'none'`,
      })
      .send(html);
  };

  const details = async (req: Request, res: Response): Promise<InteractionDetails | undefined> => {
    try {
      const d = await provider.interactionDetails(
        req as unknown as IncomingMessage,
        res as unknown as ServerResponse,
      );
      if (d.uid !== req.params.uid) {
        throw new Error('uid');
      }
      return d;
    } catch {
      page(
        res,
        400,
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in expired</title></head><body><h1 id="expired">This sign-in has expired or was not started in this browser</h1><p>Go back to the application and sign in again.</p></body></html>',
        randomBytes(16).toString('base64url'),
      );
      return undefined;
    }
  };

  const finish = (req: Request, res: Response, result: Record<string, unknown>) =>
    provider.interactionFinished(
      req as unknown as IncomingMessage,
      res as unknown as ServerResponse,
      result,
      { mergeWithLastSubmission: false },
    );

  const usernameAllowed = (d: InteractionDetails): boolean => {
    const acr = typeof d.params.acr_values === 'string' ? d.params.acr_values.split(' ') : [];
    return acr.length === 0 || acr.some((a) => !a.startsWith('AAL3'));
  };

  const renderLogin = (res: Response, d: InteractionDetails, error?: string) => {
    const t = now();
    const seen = firstSeen.get(d.uid) ?? t;
    firstSeen.set(d.uid, seen);
    // prompt=login: a PIN login after this sign-in started. auth_time has whole seconds, so the next whole
    // second: a login in the same second as the start could be the one before it.
    let authAfter = promptsLogin(d.params) ? Math.ceil(seen / 1000) : 0;
    const maxAge = Number(d.params.max_age);
    if (typeof d.params.max_age === 'string' && Number.isInteger(maxAge) && maxAge >= 0) {
      authAfter = Math.max(authAfter, Math.floor(t / 1000) - maxAge);
    }
    const nonce = randomBytes(24).toString('base64url');
    pending.set(d.uid, { nonce, authAfter, expiresAt: t + 300_000 });
    const cspNonce = randomBytes(16).toString('base64url');
    page(
      res,
      error ? 400 : 200,
      loginPage({
        uid: d.uid,
        basePath: CIS2_BASE_PATH,
        nonce,
        audience: issuer,
        agentUrl: agentUrlOf(),
        authAfter,
        freshLogin: authAfter > 0,
        usernameAllowed: usernameAllowed(d),
        cspNonce,
        ...(error ? { error } : {}),
      }),
      cspNonce,
    );
  };

  app.get(interactionPath, async (req, res) => {
    const d = await details(req, res);
    if (d) {
      renderLogin(res, d);
    }
  });

  app.post(`${interactionPath}/smartcard`, form, async (req, res) => {
    const d = await details(req, res);
    if (!d) {
      return;
    }
    const p = pending.get(d.uid);
    pending.delete(d.uid); // one nonce, one try
    const assertion = field(req, 'assertion') ?? '';
    try {
      if (!p || p.expiresAt <= now()) {
        throw new CardRefused('NONCE_MISMATCH', 'no nonce issued for this sign-in');
      }
      const { user, claims } = await checkCardAssertion(assertion, cardCtx, {
        nonce: p.nonce,
        authAfter: p.authAfter,
      });
      logger.info({ uid: user.uid, method: 'smartcard' }, 'cis2-sim sign-in');
      await finish(req, res, {
        login: {
          accountId: user.uid,
          acr: 'AAL3_ANY',
          amr: ['N3_SMARTCARD'],
          ts: claims.auth_time,
          remember: true,
        },
        rxsign: {
          signIn: { method: 'smartcard', selectedRoleId: claims.selected_roleid, acr: 'AAL3_ANY' },
          cardSid: claims.card_sid,
        },
      });
    } catch (err) {
      if (!(err instanceof CardRefused)) {
        throw err;
      }
      logger.warn({ refusal: err.code, detail: err.message }, 'cis2-sim card assertion refused');
      await finish(req, res, {
        error: 'access_denied',
        error_description: `${err.code}: ${CARD_REFUSALS[err.code]}`,
      });
    }
  });

  app.post(`${interactionPath}/username`, form, async (req, res) => {
    const d = await details(req, res);
    if (!d) {
      return;
    }
    if (!usernameAllowed(d)) {
      renderLogin(res, d, 'This application asks for AAL3: sign in with your smartcard.');
      return;
    }
    const uid = field(req, 'uid') ?? '';
    const roleId = field(req, 'roleId') ?? '';
    const user = /^\d{1,32}$/.test(uid) ? users.get(uid) : undefined;
    if (!user) {
      renderLogin(res, d, 'UNKNOWN_USER: The user is not known.');
      return;
    }
    let selected: string | undefined;
    if (roleId !== '') {
      if (!user.roles.some((r) => r.id === roleId)) {
        renderLogin(res, d, `ROLE_UNKNOWN: ${CARD_REFUSALS.ROLE_UNKNOWN}`);
        return;
      }
      selected = roleId;
    } else if (user.roles.length === 1) {
      selected = user.roles[0]?.id;
    } else if (user.roles.length > 1) {
      const cspNonce = randomBytes(16).toString('base64url');
      page(
        res,
        200,
        rolePage({
          action: `${CIS2_BASE_PATH}/interaction/${d.uid}/username`,
          uid: user.uid,
          roles: user.roles,
          cspNonce,
        }),
        cspNonce,
      );
      return;
    }
    logger.info({ uid: user.uid, method: 'username' }, 'cis2-sim sign-in');
    await finish(req, res, {
      login: {
        accountId: user.uid,
        acr: 'AAL2_ANY',
        amr: ['MOCK_USERNAME'],
        ts: Math.floor(now() / 1000),
      },
      rxsign: { signIn: { method: 'username', selectedRoleId: selected, acr: 'AAL2_ANY' } },
    });
  });

  app.get(`${interactionPath}/abort`, async (req, res) => {
    const d = await details(req, res);
    if (d) {
      await finish(req, res, {
        error: 'access_denied',
        error_description: 'The user cancelled the sign-in.',
      });
    }
  });

  app.use(CIS2_BASE_PATH, provider.callback());
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not Found\n');
  });
  app.use(((err: unknown, _req: Request, res: Response, _next: unknown) => {
    const status = (err as { status?: unknown }).status;
    if (res.headersSent) {
      res.end();
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).type('text/plain').send('Bad Request\n');
      return;
    }
    logger.error({ errorName: err instanceof Error ? err.name : 'unknown' }, 'cis2-sim error');
    res.status(500).type('text/plain').send('Internal Server Error\n');
  }) as express.ErrorRequestHandler);

  return {
    handler: app,
    issuer,
    endCardSession,
    close: () => {
      if (timer) {
        clearInterval(timer);
      }
      clearInterval(sweeper);
    },
  };
}
