// A CIS2 rig on loopback: the Security Broker simulator, the CIS2 simulator, the agent (src/agent.ts) with a
// SoftHSM card, and relying parties built on openid-client (private_key_jwt RS512 or a client secret), each
// with a back-channel logout endpoint that checks the logout token with jose.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import * as client from 'openid-client';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { agentEnv } from '../../helpers/agent-env.js';
import { parseCertificate, pemToDer } from '../../../src/cms/certificate.js';
import { parseClients } from '../../../src/cis2-sim/clients.js';
import { startCis2Sim, type RunningCis2Sim } from '../../../src/cis2-sim/server.js';
import { loadConfig } from '../../../src/config.js';
import type { TokenPort } from '../../../src/pkcs11/index.js';
import type { RunningSpineSim } from '../../../src/spine-sim/server.js';
import { loadCrlDir, trustFromCertificates } from '../../../src/spine-sim/trust.js';
import { loadUsersFile } from '../../../src/spine-sim/users.js';
import { pkiPaths, softhsmDir, softhsmModule } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

export interface LoggedIn {
  idToken: string;
  claims: JWTPayload & Record<string, unknown>;
  userinfo: Record<string, unknown>;
  accessToken: string;
}

export interface Rp {
  readonly clientId: string;
  readonly url: string;
  readonly logins: LoggedIn[];
  readonly errors: { error: string; description: string }[];
  readonly logouts: (JWTPayload & Record<string, unknown>)[];
  config(): Promise<client.Configuration>;
  close(): Promise<void>;
}

export function cis2Trust(dir = softhsmDir()) {
  const pki = join(dir, 'pki');
  return {
    users: loadUsersFile(join(dir, 'users.json')),
    trust: trustFromCertificates(
      ['root.pem', 'auth-ca.pem'].map((f) =>
        parseCertificate(pemToDer(readFileSync(join(pki, f), 'utf8'))),
      ),
    ),
    crls: loadCrlDir(join(pki, 'crl')),
  };
}

async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * An openid-client relying party: GET /login[?prompt=login&max_age=N] starts a sign-in, GET /cb finishes it
 * (the page shows `signed-in` or the error), POST /backchannel takes a logout token.
 */
export async function startRp(o: {
  clientId: string;
  auth: 'private_key_jwt' | 'client_secret';
  issuer: () => string;
  scope?: string;
}): Promise<{ rp: Rp; metadata: (url: string) => Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS512', { extractable: true });
  const secret = `secret-${o.clientId}-0123456789abcdef`;
  const pending = new Map<string, { verifier: string; nonce: string }>();
  const logins: LoggedIn[] = [];
  const errors: { error: string; description: string }[] = [];
  const logouts: (JWTPayload & Record<string, unknown>)[] = [];
  let url = '';
  let cfg: client.Configuration | undefined;
  const config = async () => {
    if (!cfg) {
      const server = await client.discovery(
        new URL(o.issuer()),
        o.clientId,
        o.auth === 'client_secret' ? { client_secret: secret } : undefined,
        o.auth === 'client_secret'
          ? client.ClientSecretBasic(secret)
          : client.PrivateKeyJwt(
              { key: privateKey, kid: `${o.clientId}-key` },
              {
                // CIS2: the client assertion's aud is the token endpoint, exactly as discovery gives it.
                [client.modifyAssertion]: (_h: unknown, payload: Record<string, unknown>) => {
                  payload.aud = cfg?.serverMetadata().token_endpoint;
                },
              },
            ),
        { execute: [client.allowInsecureRequests] },
      );
      cfg = server;
    }
    return cfg;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', url);
      try {
        if (u.pathname === '/login') {
          const c = await config();
          const verifier = client.randomPKCECodeVerifier();
          const state = client.randomState();
          const nonce = client.randomNonce();
          pending.set(state, { verifier, nonce });
          const params: Record<string, string> = {
            redirect_uri: `${url}/cb`,
            scope: o.scope ?? 'openid profile nationalrbacaccess associatedorgs selectedrole',
            code_challenge: await client.calculatePKCECodeChallenge(verifier),
            code_challenge_method: 'S256',
            state,
            nonce,
          };
          for (const k of ['prompt', 'max_age', 'acr_values']) {
            const v = u.searchParams.get(k);
            if (v !== null) {
              params[k] = v;
            }
          }
          res.writeHead(302, { location: client.buildAuthorizationUrl(c, params).href }).end();
          return;
        }
        if (u.pathname === '/cb') {
          const state = u.searchParams.get('state') ?? '';
          const p = pending.get(state);
          pending.delete(state);
          if (u.searchParams.has('error')) {
            errors.push({
              error: u.searchParams.get('error') ?? '',
              description: u.searchParams.get('error_description') ?? '',
            });
            res.writeHead(200, { 'content-type': 'text/html' });
            res.end(`<p id="rp-error">${u.searchParams.get('error')}</p>`);
            return;
          }
          if (!p) {
            throw new Error('unknown state');
          }
          const c = await config();
          const tokens = await client.authorizationCodeGrant(c, u, {
            pkceCodeVerifier: p.verifier,
            expectedState: state,
            expectedNonce: p.nonce,
            idTokenExpected: true,
          });
          const claims = tokens.claims() as JWTPayload & Record<string, unknown>;
          const userinfo = (await client.fetchUserInfo(
            c,
            tokens.access_token,
            String(claims.sub),
          )) as Record<string, unknown>;
          logins.push({
            idToken: tokens.id_token ?? '',
            claims,
            userinfo,
            accessToken: tokens.access_token,
          });
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(`<p id="signed-in">${String(claims.sub)}</p>`);
          return;
        }
        if (u.pathname === '/backchannel' && req.method === 'POST') {
          let body = '';
          for await (const chunk of req) {
            body += String(chunk);
          }
          const token = new URLSearchParams(body).get('logout_token') ?? '';
          const c = await config();
          const jwks = createLocalJWKSet(
            (await (await fetch(c.serverMetadata().jwks_uri ?? '')).json()) as JSONWebKeySet,
          );
          const { payload } = await jwtVerify(token, jwks, {
            issuer: c.serverMetadata().issuer,
            audience: o.clientId,
          });
          logouts.push(payload as JWTPayload & Record<string, unknown>);
          res.writeHead(200).end();
          return;
        }
        res.writeHead(404).end();
      } catch (err) {
        errors.push({ error: 'rp_exception', description: String(err) });
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<p id="rp-exception">error</p>');
      }
    })();
  });
  url = await listenOn(server);
  const publicJwk = { ...(await exportJWK(publicKey)), kid: `${o.clientId}-key`, alg: 'RS512' };
  const rp: Rp = {
    clientId: o.clientId,
    url,
    logins,
    errors,
    logouts,
    config,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return {
    rp,
    metadata: (rpUrl: string) => ({
      client_id: o.clientId,
      redirect_uris: [`${rpUrl}/cb`],
      backchannel_logout_uri: `${rpUrl}/backchannel`,
      post_logout_redirect_uris: [`${rpUrl}/`],
      ...(o.auth === 'client_secret' ? { client_secret: secret } : { jwks: { keys: [publicJwk] } }),
    }),
  };
}

export interface Cis2Rig {
  spine: RunningSpineSim;
  cis2: RunningCis2Sim;
  agent: RunningAgent;
  rps: Rp[];
  close(): Promise<void>;
}

/** The whole rig; the agent uses the card `label` and allows the simulator's origin. */
export async function startCis2Rig(o: {
  label: string;
  tokenPort?: TokenPort;
  clients?: { clientId: string; auth: 'private_key_jwt' | 'client_secret' }[];
  cardPollMs?: number;
  softhsmConfDir?: string;
}): Promise<Cis2Rig> {
  const spine = await startSim(o.softhsmConfDir ? { dir: o.softhsmConfDir } : {});
  let agentUrl = 'http://127.0.0.1:1';
  let agentKey: string | undefined = undefined; // set once the agent has started
  let issuer = '';
  const made = await Promise.all(
    (
      o.clients ?? [
        { clientId: 'app-a.apps.supplier', auth: 'private_key_jwt' as const },
        { clientId: 'app-b.apps.supplier', auth: 'client_secret' as const },
      ]
    ).map((c) => startRp({ ...c, issuer: () => issuer })),
  );
  const { users, trust, crls } = cis2Trust(o.softhsmConfDir);
  const cis2 = await startCis2Sim({
    users,
    trust,
    crls,
    revocation: 'require',
    clients: parseClients(made.map((m) => m.metadata(m.rp.url))),
    agentUrl: () => agentUrl,
    agentKey: () => agentKey,
    cardPollMs: o.cardPollMs ?? 200,
    logger: captureLogger('cis2-sim').logger,
  });
  issuer = cis2.issuer;
  const config = loadConfig({
    RXSIGN_MODULE: softhsmModule(),
    RXSIGN_TOKEN: o.label,
    RXSIGN_SSB_URL: spine.url,
    RXSIGN_ALLOWED_ORIGINS: cis2.url,
    // the CA folder (root and sub-CAs): the agent sends the card's CA chain in x5c from it
    RXSIGN_TRUST_DIR: pkiPaths(o.softhsmConfDir).caDir,
    RXSIGN_POLL_MS: '100',
    ...agentEnv(),
  });
  const agent = await startAgent({
    config,
    logger: captureLogger().logger,
    listenPort: 0,
    ...(o.tokenPort ? { tokenPort: o.tokenPort } : {}),
  });
  agentUrl = agent.url;
  agentKey = agent.apiKey;
  return {
    spine,
    cis2,
    agent,
    rps: made.map((m) => m.rp),
    close: async () => {
      await Promise.all(made.map((m) => m.rp.close()));
      await agent.close();
      await cis2.close();
      await spine.close();
    },
  };
}
