/**
 * The only module that reads process.env. Parsed once against a schema into a deep-frozen, typed Config;
 * a bad value fails fast with a message naming the key (never its value, which may be a secret).
 *
 * Keys (environment variable → meaning, default):
 * - RXSIGN_MODULE        PKCS#11 module path; default: SoftHSM2's (a dev default, logged loudly)
 * - RXSIGN_TOKEN         token label to use (else the first token with certificates)
 * - RXSIGN_POLL_MS       card poll interval in ms, default 500
 * - RXSIGN_MECHANISMS    extra allowed signing mechanisms, comma-separated (default: none beyond the three)
 * - RXSIGN_SIGN_SESSIONS PKCS#11 sessions per token that sign in parallel, 1-8, default 2 (an HSM-like module
 *                        such as SoftHSM signs in parallel; a smartcard signs one thing at a time anyway)
 * - RXSIGN_HOST / RXSIGN_PORT   the agent's listen address, default 127.0.0.1:8730
 * - RXSIGN_SSB_URL       Spine Security Broker base URL, default http://127.0.0.1:8731 (the built-in simulator)
 * - RXSIGN_SSB_TIMEOUT_MS   timeout of every SSB call, default 10000
 * - RXSIGN_LOGIN_HASH    SHA-1 (protocol default) or SHA-256 for the login challenge signature
 * - RXSIGN_PIN_POLICY    'session' (once per card session, default) or 'per-signature'
 * - RXSIGN_SIGN_WITHOUT_ROLE  'true' to allow agent signing with no selected Spine role (default false)
 * - RXSIGN_PRESCRIBER_ROLES   job roles that may sign prescriptions (EPS, HL7 v3), comma-separated RBAC job role
 *   codes (R8000) or names (Nurse Access Role); '*' = any role; default DEFAULT_PRESCRIBER_ROLES
 * - RXSIGN_AUDIT_LOG     audit log path, default $XDG_STATE_HOME/rxsign/audit.log (audit/default-path.ts: always absolute)
 * - RXSIGN_AUDIT_RESERVE_MB  free space (MiB) the audit disk keeps: below it signing is refused, default 64
 * - RXSIGN_LOG_LEVEL     pino level, default info
 * - RXSIGN_PIN           the card PIN for non-interactive CLI use (read only by readPinFromEnv)
 * - RXSIGN_TRUST_DIR / RXSIGN_CRL_DIR   CA certificates and CRLs for verification and the signing policy
 * - RXSIGN_ALLOWED_ORIGINS  exact browser origins allowed to call the agent, comma-separated (default none);
 *                        each still needs the user's approval on the agent page (docs/security.md)
 * - RXSIGN_APPROVED_ORIGINS allowlisted origins the user need not approve, comma-separated (default none)
 * - RXSIGN_APPROVAL_TIMEOUT_MS how long a web request waits for the user's answer, default 60000
 * - RXSIGN_CLIENT_KEYS   named client keys, `name=/path/to/keyfile,…`: a local program that sends one of these
 *                        keys is audited under its name (the agent's own key, for the CLI, is `cli`)
 * - RXSIGN_RUNTIME_DIR   the private runtime folder (api-key, open.html), default $XDG_RUNTIME_DIR/rxsign, else
 *                        $XDG_STATE_HOME/rxsign/run; must be ours and 0700 (checked with lstat)
 * - RXSIGN_STATE_DIR     the agent's state folder (approvals.json), default $XDG_STATE_HOME/rxsign
 * - RXSIGN_UNSAFE_LISTEN '1' or 'true' to allow a listen address that is not loopback (peers must still be
 *                        loopback; see docs/security.md)
 * - SOFTHSM2_CONF        passed through to SoftHSM (read by the module itself); the demo finds its cards beside it
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defaultAuditLogPath } from './audit/index.js';
import { errorFactory, type ErrorTable } from './errors.js';
import { DEFAULT_SESSIONS } from './pkcs11/index.js';
import { DEFAULT_PRESCRIBER_ROLES } from './signing/index.js';

/**
 * The Spine simulator's default port: `rxsign spine-sim` and `rxsign demo` listen on it, and the agent's
 * default RXSIGN_SSB_URL points at it.
 */
export const DEFAULT_SIM_PORT = 8731;

export const SOFTHSM_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

const intFrom = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const EnvSchema = z.object({
  RXSIGN_MODULE: z.string().min(1).optional(),
  RXSIGN_TOKEN: z.string().min(1).optional(),
  RXSIGN_POLL_MS: intFrom(50, 60_000).optional(),
  RXSIGN_MECHANISMS: z.string().optional(),
  RXSIGN_SIGN_SESSIONS: intFrom(1, 8).optional(),
  RXSIGN_HOST: z.string().min(1).optional(),
  RXSIGN_PORT: intFrom(0, 65_535).optional(),
  RXSIGN_SSB_URL: z.string().url().optional(),
  RXSIGN_SSB_TIMEOUT_MS: intFrom(100, 300_000).optional(),
  RXSIGN_LOGIN_HASH: z.enum(['SHA-1', 'SHA-256']).optional(),
  RXSIGN_PIN_POLICY: z.enum(['session', 'per-signature']).optional(),
  RXSIGN_SIGN_WITHOUT_ROLE: z.enum(['true', 'false']).optional(),
  RXSIGN_PRESCRIBER_ROLES: z
    .string()
    .max(4096)
    .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII')
    .optional(),
  RXSIGN_AUDIT_LOG: z.string().min(1).optional(),
  RXSIGN_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional(),
  XDG_STATE_HOME: z.string().optional(),
  SOFTHSM2_CONF: z.string().optional(),
  RXSIGN_TRUST_DIR: z.string().min(1).optional(),
  RXSIGN_CRL_DIR: z.string().min(1).optional(),
  RXSIGN_ALLOWED_ORIGINS: z.string().optional(),
  RXSIGN_AUDIT_RESERVE_MB: intFrom(0, 1_048_576).optional(),
  RXSIGN_APPROVED_ORIGINS: z.string().optional(),
  RXSIGN_APPROVAL_TIMEOUT_MS: intFrom(1_000, 600_000).optional(),
  RXSIGN_CLIENT_KEYS: z.string().optional(),
  RXSIGN_CM: z.enum(['on', 'off']).optional(),
  RXSIGN_CM_PORTS: z
    .string()
    .regex(/^\d{1,5}(,\d{1,5})*$/, 'must be comma-separated port numbers')
    .optional(),
  RXSIGN_RUNTIME_DIR: z.string().min(1).optional(),
  RXSIGN_STATE_DIR: z.string().min(1).optional(),
  RXSIGN_UNSAFE_LISTEN: z.enum(['1', 'true', '0', 'false']).optional(),
  XDG_RUNTIME_DIR: z.string().optional(),
});

export interface Config {
  readonly modulePath: string;
  readonly moduleIsDevDefault: boolean;
  readonly tokenLabel: string | undefined;
  readonly pollIntervalMs: number;
  readonly mechanisms: readonly string[];
  /** PKCS#11 sessions per token that sign in parallel (RXSIGN_SIGN_SESSIONS). */
  readonly signSessions: number;
  readonly host: string;
  readonly port: number;
  readonly ssbUrl: string;
  readonly ssbTimeoutMs: number;
  readonly loginHash: 'SHA-1' | 'SHA-256';
  readonly pinPolicy: 'session' | 'per-signature';
  readonly signWithoutRole: boolean;
  /**
   * Job roles that may sign prescriptions: RBAC job role codes (`R8000`) or names (`Nurse Access Role`),
   * compared case-insensitively; `['*']` = any role.
   */
  readonly prescriberRoles: readonly string[];
  readonly auditLogPath: string;
  /** Free space (MiB) the audit log's disk must keep: below it signing is refused (RXSIGN_AUDIT_RESERVE_MB). */
  readonly auditReserveMiB: number;
  readonly logLevel: string;
  /** SoftHSM's configuration file, when set (the demo finds its cards beside it). */
  readonly softhsmConf: string | undefined;
  /** Exact browser origins allowed to call the agent (comma-separated RXSIGN_ALLOWED_ORIGINS). */
  readonly allowedOrigins: readonly string[];
  /** Allowlisted origins approved in advance (RXSIGN_APPROVED_ORIGINS); each must be in allowedOrigins. */
  readonly approvedOrigins: readonly string[];
  /** The NHS Credential Management drop-in (docs/cm.md): RXSIGN_CM=on, RXSIGN_CM_PORTS. */
  readonly cm: { readonly enabled: boolean; readonly ports: readonly number[] };
  /** How long a web request waits for the user's approval (ms). */
  readonly approvalTimeoutMs: number;
  /** Named client keys: name → key file (RXSIGN_CLIENT_KEYS). */
  readonly clientKeys: Readonly<Record<string, string>>;
  /** The private runtime folder (api-key, open.html). */
  readonly runtimeDir: string;
  /** The agent's state folder (approvals.json). */
  readonly stateDir: string;
  /** Allow a listen address that is not loopback (RXSIGN_UNSAFE_LISTEN). */
  readonly unsafeListen: boolean;
  /** CA certificates for verification and signing policy (self-signed = anchors, others = intermediates). */
  readonly trustDir: string | undefined;
  /** CRLs and ARLs for verification and signing policy. */
  readonly crlDir: string | undefined;
}

export type ConfigErrorCode = 'ERR_CONFIG_INVALID';

/** The configuration's one code (in the registry beside the folders' tables, so docs/errors.md lists it). */
export const CONFIG_ERRORS: ErrorTable<ConfigErrorCode> = {
  ERR_CONFIG_INVALID: {
    status: 500,
    message: 'the configuration is not valid',
    fix: 'Fix the environment variable named in the error (README: Configuration); its value is never shown.',
  },
};

/**
 * Builds the configuration error; `detail.field` names the variable and what is wrong with it, never its
 * value (the CLI prints it).
 *
 * @example
 * ```ts
 * throw configError('ERR_CONFIG_INVALID', { detail: { field: 'RXSIGN_PORT: expected a number' } });
 * ```
 */
export const configError = errorFactory(CONFIG_ERRORS);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) {
      deepFreeze(v);
    }
    Object.freeze(o);
  }
  return o;
}

/**
 * Parses the environment (default: process.env) into a frozen Config.
 *
 * @example
 * ```ts
 * const config = loadConfig();
 * config.pollIntervalMs; // 500
 * ```
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join('.') ?? 'environment';
    throw configError('ERR_CONFIG_INVALID', {
      detail: { field: `${key}: ${issue?.message ?? 'is not valid'}` },
    });
  }
  const e = parsed.data;
  const devModule = SOFTHSM_CANDIDATES.find((p) => existsSync(p)) ?? SOFTHSM_CANDIDATES[0] ?? '';
  const stateHome = e.XDG_STATE_HOME || join(env.HOME ?? homedir(), '.local', 'state');
  const allowedOrigins = originList('RXSIGN_ALLOWED_ORIGINS', e.RXSIGN_ALLOWED_ORIGINS);
  const approvedOrigins = originList('RXSIGN_APPROVED_ORIGINS', e.RXSIGN_APPROVED_ORIGINS);
  for (const o of approvedOrigins) {
    if (!allowedOrigins.includes(o)) {
      throw configError('ERR_CONFIG_INVALID', {
        detail: {
          field: 'RXSIGN_APPROVED_ORIGINS names an origin that is not in RXSIGN_ALLOWED_ORIGINS',
        },
      });
    }
  }
  return deepFreeze({
    modulePath: e.RXSIGN_MODULE ?? devModule,
    moduleIsDevDefault: e.RXSIGN_MODULE === undefined,
    tokenLabel: e.RXSIGN_TOKEN,
    pollIntervalMs: e.RXSIGN_POLL_MS ?? 500,
    mechanisms: [
      'SHA256_RSA_PKCS',
      'SHA1_RSA_PKCS',
      'RSA_PKCS',
      ...(e.RXSIGN_MECHANISMS ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    ],
    signSessions: e.RXSIGN_SIGN_SESSIONS ?? DEFAULT_SESSIONS,
    host: e.RXSIGN_HOST ?? '127.0.0.1',
    port: e.RXSIGN_PORT ?? 8730,
    ssbUrl: e.RXSIGN_SSB_URL ?? `http://127.0.0.1:${DEFAULT_SIM_PORT}`,
    ssbTimeoutMs: e.RXSIGN_SSB_TIMEOUT_MS ?? 10_000,
    loginHash: e.RXSIGN_LOGIN_HASH ?? 'SHA-1',
    pinPolicy: e.RXSIGN_PIN_POLICY ?? 'session',
    signWithoutRole: e.RXSIGN_SIGN_WITHOUT_ROLE === 'true',
    prescriberRoles:
      e.RXSIGN_PRESCRIBER_ROLES === undefined || e.RXSIGN_PRESCRIBER_ROLES.trim() === ''
        ? DEFAULT_PRESCRIBER_ROLES
        : e.RXSIGN_PRESCRIBER_ROLES.split(',')
            .map((r) => r.trim())
            .filter((r) => r !== ''),
    auditLogPath:
      e.RXSIGN_AUDIT_LOG ??
      defaultAuditLogPath({ xdgStateHome: e.XDG_STATE_HOME, home: env.HOME ?? homedir() }),
    auditReserveMiB: e.RXSIGN_AUDIT_RESERVE_MB ?? 64,
    logLevel: e.RXSIGN_LOG_LEVEL ?? 'info',
    softhsmConf: e.SOFTHSM2_CONF,
    trustDir: e.RXSIGN_TRUST_DIR,
    crlDir: e.RXSIGN_CRL_DIR,
    allowedOrigins,
    approvedOrigins,
    cm: {
      enabled: e.RXSIGN_CM === 'on',
      ports: cmPorts(e.RXSIGN_CM_PORTS),
    },
    approvalTimeoutMs: e.RXSIGN_APPROVAL_TIMEOUT_MS ?? 60_000,
    clientKeys: clientKeyList(e.RXSIGN_CLIENT_KEYS),
    runtimeDir:
      e.RXSIGN_RUNTIME_DIR ??
      (e.XDG_RUNTIME_DIR ? join(e.XDG_RUNTIME_DIR, 'rxsign') : join(stateHome, 'rxsign', 'run')),
    stateDir: e.RXSIGN_STATE_DIR ?? join(stateHome, 'rxsign'),
    unsafeListen: e.RXSIGN_UNSAFE_LISTEN === '1' || e.RXSIGN_UNSAFE_LISTEN === 'true',
  });
}

/** CM's five port-service ports (docs/cm.md), or the configured list (each 0-65535; 0 = any free port). */
function cmPorts(value: string | undefined): number[] {
  if (value === undefined) {
    return [43487, 44213, 45031, 46478, 48853];
  }
  const ports = value.split(',').map(Number);
  if (ports.some((p) => p > 65_535)) {
    throw configError('ERR_CONFIG_INVALID', {
      detail: { field: 'RXSIGN_CM_PORTS must be port numbers (0-65535)' },
    });
  }
  return ports;
}

/** An exact browser origin: `scheme://host[:port]` as the browser sends it (no path, no `null`). */
export function isExactOrigin(o: string): boolean {
  try {
    const u = new URL(o);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
  } catch {
    return false;
  }
}

function originList(key: string, value: string | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (list.some((o) => !isExactOrigin(o))) {
    throw configError('ERR_CONFIG_INVALID', {
      detail: {
        field: `${key} must list exact origins such as https://app.example.nhs.uk (scheme://host[:port], no path, not null)`,
      },
    });
  }
  return list;
}

/** Client key names: what the audit log shows; `cli` and `page` are the agent's own. */
export const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function clientKeyList(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq);
    const file = item.slice(eq + 1);
    if (eq < 1 || !CLIENT_NAME.test(name) || name === 'cli' || name === 'page' || !file) {
      throw configError('ERR_CONFIG_INVALID', {
        detail: {
          field:
            'RXSIGN_CLIENT_KEYS must be name=/path/to/keyfile,… (names of letters, digits, . _ -; not cli or page)',
        },
      });
    }
    if (name in out) {
      throw configError('ERR_CONFIG_INVALID', {
        detail: { field: `RXSIGN_CLIENT_KEYS names ${name} twice` },
      });
    }
    out[name] = file;
  }
  return out;
}

/** The PIN for non-interactive use (CI, scripts). Never taken from argv. */
export function readPinFromEnv(
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const pin = env.RXSIGN_PIN;
  return pin === undefined || pin === '' ? undefined : pin;
}
