/**
 * The agent's configuration: one declaration per setting ({@link SETTINGS}: its environment variable, its
 * key in the configuration file, its schema, its default, whether it is a secret), read by both sources.
 * The only module that reads process.env. The result is a deep-frozen, typed {@link Config}.
 *
 * Sources, lowest first: the declared default, the configuration file, the environment.
 * - `loadConfig(env)` reads the environment only (tests, and code that must not read a file);
 * - `resolveConfig({ env, file })` adds the file: an explicit `--config FILE` must exist; the default,
 *   `$XDG_CONFIG_HOME/rxsign/config.yaml` (`~/.config/rxsign/config.yaml`), is read when it exists.
 *   The file is YAML (JSON is YAML too), a map of the keys below; relative paths in it are relative to it.
 * - A bad value fails fast with a message naming the key — the variable, or the file, line and key — and
 *   never the value, which may be a secret. `rxsign config check` prints the effective configuration with
 *   secrets masked and where each value came from.
 *
 * The table in README.md ("Configuration") lists every setting; test/config.test.ts keeps it in step with
 * {@link SETTINGS}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type YAMLSeq } from 'yaml';
import { z } from 'zod';
import { defaultAuditLogPath } from './audit/index.js';
import { errorFactory, ServiceError, type ErrorTable } from './errors.js';
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

/** The signing mechanisms always allowed (RXSIGN_MECHANISMS adds to them). */
const BASE_MECHANISMS = ['SHA256_RSA_PKCS', 'SHA1_RSA_PKCS', 'RSA_PKCS'];

export interface Config {
  readonly modulePath: string;
  /** True when `modulePath` is the SoftHSM development default (no module configured). */
  readonly moduleIsDevDefault: boolean;
  readonly tokenLabel: string | undefined;
  readonly pollIntervalMs: number;
  /** The allowed signing mechanisms: the three defaults and any configured extras. */
  readonly mechanisms: readonly string[];
  /** PKCS#11 sessions per token that sign in parallel. */
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
  /** Exact browser origins allowed to call the agent. */
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
  /** A local cap on the Spine session's length in minutes (the broker's own limit applies anyway). */
  readonly sessionMaxMinutes: number | undefined;
  /** A local cap on the Spine session's idle time in minutes. */
  readonly sessionIdleMinutes: number | undefined;
}

/** What kind of value a setting holds: its schema, and how the environment's string becomes a value. */
interface Kind {
  readonly schema: z.ZodType;
  /** The value of an environment string (the schema then checks it). */
  readonly fromEnv: (raw: string) => unknown;
  /** Resolves a file value (relative paths against the file's folder). */
  readonly fromFile?: (value: unknown, fileDir: string) => unknown;
  /** How the README table names the type. */
  readonly type: string;
}

const text = (): Kind => ({ schema: z.string().min(1), fromEnv: (s) => s, type: 'string' });
const path = (): Kind => ({
  schema: z.string().min(1),
  fromEnv: (s) => s,
  fromFile: (v, dir) => (typeof v === 'string' && v !== '' && !isAbsolute(v) ? resolve(dir, v) : v),
  type: 'path',
});
const url = (): Kind => ({
  schema: z.string().url('must be a URL'),
  fromEnv: (s) => s,
  type: 'URL',
});
const int = (min: number, max: number): Kind => ({
  schema: z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be a whole number from ${min} to ${max}`)
    .max(max, `must be a whole number from ${min} to ${max}`),
  fromEnv: (s) => (/^\d+$/.test(s) ? Number(s) : s),
  type: `integer ${min}–${max}`,
});
const bool = (): Kind => ({
  schema: z.boolean({ error: 'must be true or false' }),
  fromEnv: (s) => (s === 'true' ? true : s === 'false' ? false : s),
  type: 'true/false',
});
const oneOf = <T extends string>(values: readonly [T, ...T[]]): Kind => ({
  schema: z.enum(values, { error: `must be one of ${values.join(', ')}` }),
  fromEnv: (s) => s,
  type: values.join(' \\| '),
});
const list = (item: z.ZodType = z.string().min(1)): Kind => ({
  schema: z.array(item, { error: 'must be a list' }),
  fromEnv: (s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  type: 'list (env: comma-separated)',
});

/** Client key names: what the audit log shows; `cli` and `page` are the agent's own. */
export const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** CM's five port-service ports (docs/cm.md). */
const CM_PORTS = [43487, 44213, 45031, 46478, 48853] as const;

const EXACT_ORIGIN =
  'must be exact origins such as https://app.example.nhs.uk (scheme://host[:port], no path, not null)';

/** Named client keys: name → key file; env `name=/path/to/keyfile,…`, file a map (paths relative to it). */
function clientKeysKind(): Kind {
  return {
    schema: z.record(
      z
        .string()
        .regex(CLIENT_NAME, 'names are letters, digits, . _ -')
        .refine((n) => n !== 'cli' && n !== 'page', 'cli and page are the agent’s own names'),
      z.string().min(1),
      { error: 'must be name=/path/to/keyfile,… (a map in the file)' },
    ),
    fromEnv: (raw) => {
      const out: Record<string, string> = {};
      for (const item of raw
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        const eq = item.indexOf('=');
        const name = item.slice(0, eq);
        if (eq < 1 || name in out) {
          return raw; // the schema refuses a string
        }
        out[name] = item.slice(eq + 1);
      }
      return out;
    },
    fromFile: (v, dir) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v).map(([k, f]) => [
              k,
              typeof f === 'string' && f !== '' && !isAbsolute(f) ? resolve(dir, f) : f,
            ]),
          )
        : v,
    type: 'map name → key file (env: name=file,…)',
  };
}

/** Where defaults may look (the environment's XDG folders, HOME). */
type Env = Readonly<Record<string, string | undefined>>;

/** One setting, declared once. */
export interface Setting {
  /** The environment variable. */
  readonly env: string;
  /** The key in the configuration file; absent = environment only. */
  readonly file?: string;
  readonly kind: Kind;
  /** The default (absent = unset), possibly from the environment's folders. */
  readonly default?: (env: Env) => unknown;
  /** Masked by `rxsign config check`. */
  readonly secret?: boolean;
  readonly doc: string;
}

/** `$XDG_STATE_HOME`, else `~/.local/state`; a relative XDG_STATE_HOME is ignored, as the XDG spec requires. */
const stateHome = (env: Env): string =>
  env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)
    ? env.XDG_STATE_HOME
    : join(env.HOME ?? homedir(), '.local', 'state');

/**
 * Every setting, by its Config property. Add a setting here (and to {@link Config}); both sources, the
 * README table and `rxsign config check` follow.
 */
export const SETTINGS = {
  modulePath: {
    env: 'RXSIGN_MODULE',
    file: 'module',
    kind: path(),
    default: () => SOFTHSM_CANDIDATES.find((p) => existsSync(p)) ?? SOFTHSM_CANDIDATES[0],
    doc: 'PKCS#11 module of the card reader (default: SoftHSM2’s, a development default, logged loudly)',
  },
  tokenLabel: {
    env: 'RXSIGN_TOKEN',
    file: 'token',
    kind: text(),
    doc: 'token label of the card to use (default: the first card with certificates)',
  },
  pollIntervalMs: {
    env: 'RXSIGN_POLL_MS',
    file: 'pollMs',
    kind: int(50, 60_000),
    default: () => 500,
    doc: 'card poll interval in ms',
  },
  mechanisms: {
    env: 'RXSIGN_MECHANISMS',
    file: 'mechanisms',
    kind: list(),
    default: () => [],
    doc: 'extra allowed signing mechanisms beyond SHA256_RSA_PKCS, SHA1_RSA_PKCS, RSA_PKCS',
  },
  signSessions: {
    env: 'RXSIGN_SIGN_SESSIONS',
    file: 'signSessions',
    kind: int(1, 8),
    default: () => DEFAULT_SESSIONS,
    doc: 'PKCS#11 sessions per token that sign in parallel (an HSM-like module signs in parallel; a card one at a time)',
  },
  host: {
    env: 'RXSIGN_HOST',
    file: 'host',
    kind: text(),
    default: () => '127.0.0.1',
    doc: 'listen address (loopback)',
  },
  port: {
    env: 'RXSIGN_PORT',
    file: 'port',
    kind: int(0, 65_535),
    default: () => 8730,
    doc: 'listen port',
  },
  ssbUrl: {
    env: 'RXSIGN_SSB_URL',
    file: 'brokerUrl',
    kind: url(),
    default: () => `http://127.0.0.1:${DEFAULT_SIM_PORT}`,
    doc: 'Spine Security Broker base URL (default: the built-in simulator)',
  },
  ssbTimeoutMs: {
    env: 'RXSIGN_SSB_TIMEOUT_MS',
    file: 'brokerTimeoutMs',
    kind: int(100, 300_000),
    default: () => 10_000,
    doc: 'timeout of every broker call in ms',
  },
  loginHash: {
    env: 'RXSIGN_LOGIN_HASH',
    file: 'loginHash',
    kind: oneOf(['SHA-1', 'SHA-256']),
    default: () => 'SHA-1',
    doc: 'hash of the login challenge signature (SHA-1 is the protocol default)',
  },
  pinPolicy: {
    env: 'RXSIGN_PIN_POLICY',
    file: 'pinPolicy',
    kind: oneOf(['session', 'per-signature']),
    default: () => 'session',
    doc: 'PIN once per card session, or for every signature',
  },
  signWithoutRole: {
    env: 'RXSIGN_SIGN_WITHOUT_ROLE',
    file: 'signWithoutRole',
    kind: bool(),
    default: () => false,
    doc: 'allow agent signing with no selected Spine role',
  },
  sessionMaxMinutes: {
    env: 'RXSIGN_SESSION_MAX_MINUTES',
    file: 'sessionMaxMinutes',
    kind: int(1, 24 * 60),
    doc: 'local cap on the Spine session length in minutes (default: the broker’s)',
  },
  sessionIdleMinutes: {
    env: 'RXSIGN_SESSION_IDLE_MINUTES',
    file: 'sessionIdleMinutes',
    kind: int(1, 24 * 60),
    doc: 'local cap on the Spine session idle time in minutes (default: the broker’s)',
  },
  auditLogPath: {
    env: 'RXSIGN_AUDIT_LOG',
    file: 'auditLog',
    kind: path(),
    default: (env: Env) =>
      defaultAuditLogPath({ xdgStateHome: env.XDG_STATE_HOME, home: env.HOME ?? homedir() }),
    doc: 'signing audit log (default: $XDG_STATE_HOME/rxsign/audit.log)',
  },
  logLevel: {
    env: 'RXSIGN_LOG_LEVEL',
    file: 'logLevel',
    kind: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: () => 'info',
    doc: 'log level (pino)',
  },
  trustDir: {
    env: 'RXSIGN_TRUST_DIR',
    file: 'trustDir',
    kind: path(),
    doc: 'CA certificates for verification and the signing policy',
  },
  crlDir: {
    env: 'RXSIGN_CRL_DIR',
    file: 'crlDir',
    kind: path(),
    doc: 'CRLs and ARLs for verification and the signing policy',
  },
  prescriberRoles: {
    env: 'RXSIGN_PRESCRIBER_ROLES',
    file: 'prescriberRoles',
    kind: list(
      z
        .string()
        .min(1)
        .max(256)
        .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII'),
    ),
    default: () => [...DEFAULT_PRESCRIBER_ROLES],
    doc: 'job roles that may sign prescriptions (EPS, HL7 v3): RBAC job role codes (R8000) or names; `*` = any role',
  },
  auditReserveMiB: {
    env: 'RXSIGN_AUDIT_RESERVE_MB',
    file: 'auditReserveMb',
    kind: int(0, 1_048_576),
    default: () => 64,
    doc: 'free space (MiB) the audit disk keeps: below it signing is refused (ERR_AUDIT_DISK_FULL)',
  },
  allowedOrigins: {
    env: 'RXSIGN_ALLOWED_ORIGINS',
    file: 'allowedOrigins',
    kind: list(z.string().refine(isExactOrigin, EXACT_ORIGIN)),
    default: () => [],
    doc: 'exact browser origins allowed to call the agent; each still needs the user’s approval (docs/security.md)',
  },
  approvedOrigins: {
    env: 'RXSIGN_APPROVED_ORIGINS',
    file: 'approvedOrigins',
    kind: list(z.string().refine(isExactOrigin, EXACT_ORIGIN)),
    default: () => [],
    doc: 'allowlisted origins the user need not approve (each must be in allowedOrigins)',
  },
  approvalTimeoutMs: {
    env: 'RXSIGN_APPROVAL_TIMEOUT_MS',
    file: 'approvalTimeoutMs',
    kind: int(1_000, 600_000),
    default: () => 60_000,
    doc: 'how long a web request waits for the user’s answer in ms',
  },
  clientKeys: {
    env: 'RXSIGN_CLIENT_KEYS',
    file: 'clientKeys',
    kind: clientKeysKind(),
    default: () => ({}),
    doc: 'named client keys: a local program sending one is audited under its name (the CLI is `cli`)',
  },
  runtimeDir: {
    env: 'RXSIGN_RUNTIME_DIR',
    file: 'runtimeDir',
    kind: path(),
    default: (env: Env) =>
      env.XDG_RUNTIME_DIR
        ? join(env.XDG_RUNTIME_DIR, 'rxsign')
        : join(stateHome(env), 'rxsign', 'run'),
    doc: 'the private runtime folder (api-key, open.html), ours and 0700 (else $XDG_STATE_HOME/rxsign/run)',
  },
  stateDir: {
    env: 'RXSIGN_STATE_DIR',
    file: 'stateDir',
    kind: path(),
    default: (env: Env) => join(stateHome(env), 'rxsign'),
    doc: 'the agent’s state folder (approvals.json)',
  },
  unsafeListen: {
    env: 'RXSIGN_UNSAFE_LISTEN',
    file: 'unsafeListen',
    kind: {
      ...bool(),
      fromEnv: (s: string) =>
        s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : s,
      type: 'true/false (env: also 1/0)',
    },
    default: () => false,
    doc: 'allow a listen address that is not loopback (peers must still be loopback; docs/security.md)',
  },
  cmEnabled: {
    env: 'RXSIGN_CM',
    file: 'cm',
    kind: {
      ...bool(),
      fromEnv: (s: string) => (s === 'on' ? true : s === 'off' ? false : s),
      type: 'true/false (env: on/off)',
    },
    default: () => false,
    doc: 'the NHS Credential Management drop-in (docs/cm.md)',
  },
  cmPorts: {
    env: 'RXSIGN_CM_PORTS',
    file: 'cmPorts',
    kind: {
      ...list(z.number({ error: 'must be port numbers' }).int().min(0).max(65_535)),
      fromEnv: (s: string) => s.split(',').map((x) => (/^\d{1,5}$/.test(x.trim()) ? Number(x) : x)),
    },
    default: () => [...CM_PORTS],
    doc: 'the Credential Management port service’s ports (0 = any free port)',
  },
  softhsmConf: {
    env: 'SOFTHSM2_CONF',
    kind: path(),
    doc: 'SoftHSM’s configuration (read by the module; the demo finds its cards beside it)',
  },
} as const satisfies Record<string, Setting>;

/** Settings that are not Config properties: read by one function each, listed here to document them. */
export const OTHER_SETTINGS = {
  pin: {
    env: 'RXSIGN_PIN',
    kind: text(),
    secret: true,
    doc: 'the card PIN for non-interactive CLI use (never in a file, never argv)',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

/** Where a value came from. */
export type Origin =
  | { readonly source: 'default' }
  | { readonly source: 'env'; readonly env: string }
  | { readonly source: 'file'; readonly file: string; readonly line: number; readonly key: string };

export type ConfigErrorCode = 'ERR_CONFIG_INVALID';

/** The configuration's one code (in the registry beside the folders' tables, so docs/errors.md lists it). */
export const CONFIG_ERRORS: ErrorTable<ConfigErrorCode> = {
  ERR_CONFIG_INVALID: {
    status: 500,
    message: 'the configuration is not valid',
    fix: 'Fix the setting named in the error (README: Configuration; `rxsign config check`); its value is never shown.',
  },
};

/**
 * Builds a configuration error with no place to name (the CLI prints `detail.field`).
 *
 * @example
 * ```ts
 * throw configError('ERR_CONFIG_INVALID', { detail: { field: 'RXSIGN_PORT: expected a number' } });
 * ```
 */
export const configError = errorFactory(CONFIG_ERRORS);

/**
 * A bad setting: the table's message, and in `detail.field` where (variable, or file and line) and what is
 * wrong, never the value.
 */
export class ConfigError extends ServiceError<ConfigErrorCode> {
  /** The variable or file key at fault. */
  readonly key: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  /** Where and what, as `detail.field` says it: `config.yaml:3: port must be …`. */
  readonly where: string;

  constructor(where: string, at: { key: string; file?: string; line?: number }) {
    super('ERR_CONFIG_INVALID', CONFIG_ERRORS.ERR_CONFIG_INVALID.message, {
      detail: { field: where },
    });
    this.key = at.key;
    this.file = at.file;
    this.line = at.line;
    this.where = where;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) {
      deepFreeze(v);
    }
    Object.freeze(o);
  }
  return o;
}

function check(
  s: Setting,
  value: unknown,
  at: { key: string; file?: string; line?: number },
  /** The line of an item inside the value (a list's entry), when the file says. */
  lineOf?: (path: readonly PropertyKey[]) => number | undefined,
) {
  const r = s.kind.schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path ?? [];
    const named = path.length ? `${at.key}[${path.map(String).join('][')}]` : at.key;
    const line = (path.length ? lineOf?.(path) : undefined) ?? at.line;
    const where = at.file ? `${at.file}:${line ?? 0}: ${named}` : named;
    throw new ConfigError(`${where} ${issue?.message ?? 'is not valid'}`, {
      key: at.key,
      ...(at.file !== undefined ? { file: at.file } : {}),
      ...(line !== undefined ? { line } : {}),
    });
  }
  return r.data as unknown;
}

/** A configuration file's settings: the value, file key and line of each. */
interface FileValues {
  readonly path: string;
  readonly values: Map<SettingName, { value: unknown; line: number; key: string }>;
}

/** The default configuration file: `$XDG_CONFIG_HOME/rxsign/config.yaml`. */
export function defaultConfigFile(env: Env = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'rxsign', 'config.yaml');
}

/** Reads and checks a configuration file (YAML or JSON): unknown keys and bad values name file and line. */
export function readConfigFile(file: string): FileValues {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read the configuration file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { key: '(file)', file },
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined): number =>
    offset === undefined ? 0 : lineCounter.linePos(offset).line;
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lineOf(syntax.pos[0]);
    throw new ConfigError(`${file}:${line}: not valid YAML (${syntax.code})`, {
      key: '(syntax)',
      file,
      line,
    });
  }
  const values: FileValues['values'] = new Map();
  if (doc.contents === null) {
    return { path: file, values }; // an empty file
  }
  if (!isMap(doc.contents)) {
    throw new ConfigError(`${file}:1: must be a map of settings`, {
      key: '(file)',
      file,
      line: 1,
    });
  }
  const byKey = new Map<string, SettingName>();
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    if (s.file) {
      byKey.set(s.file, name);
    }
  }
  const dir = dirname(resolve(file));
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const line = lineOf(isScalar(pair.key) ? pair.key.range?.[0] : undefined);
    const name = byKey.get(key);
    if (name === undefined) {
      const known = [...byKey.keys()].sort().join(', ');
      throw new ConfigError(`${file}:${line}: ${key} is not a setting (settings: ${known})`, {
        key,
        file,
        line,
      });
    }
    const s: Setting = SETTINGS[name];
    const raw: unknown = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
    const value = s.kind.fromFile ? s.kind.fromFile(raw, dir) : raw;
    const itemLine = (path: readonly PropertyKey[]): number | undefined => {
      const node = isNode(pair.value) ? pair.value : undefined;
      const item =
        node && 'getIn' in node ? (node as YAMLSeq).get(Number(path[0]), true) : undefined;
      return isNode(item) ? lineOf(item.range?.[0]) : undefined;
    };
    values.set(name, { value: check(s, value, { key, file, line }, itemLine), line, key });
  }
  return { path: file, values };
}

/** The effective configuration and where each value came from. */
export interface ResolvedConfig {
  readonly config: Config;
  readonly origins: Readonly<Record<SettingName, Origin>>;
  /** The file read, if any. */
  readonly file: string | undefined;
}

/**
 * Builds the configuration from defaults, the file (if any) and the environment (which overrides).
 *
 * @example
 * ```ts
 * const { config, origins } = resolveConfig({ env: process.env, file: argv.config });
 * origins.port; // { source: 'file', file: '/home/u/.config/rxsign/config.yaml', line: 3, key: 'port' }
 * ```
 */
export function resolveConfig(
  o: {
    env?: Env;
    /** An explicit file (must exist); undefined = the default file if it exists; false = no file. */
    file?: string | false;
  } = {},
): ResolvedConfig {
  const env = o.env ?? process.env;
  let fileValues: FileValues | undefined;
  if (typeof o.file === 'string') {
    fileValues = readConfigFile(o.file);
  } else if (o.file === undefined) {
    const def = defaultConfigFile(env);
    if (existsSync(def)) {
      fileValues = readConfigFile(def);
    }
  }
  const values: Record<string, unknown> = {};
  const origins = {} as Record<SettingName, Origin>;
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    const raw = env[s.env];
    const fromFile = fileValues?.values.get(name);
    if (raw !== undefined && raw !== '') {
      values[name] = check(s, s.kind.fromEnv(raw), { key: s.env });
      origins[name] = { source: 'env', env: s.env };
    } else if (fromFile && fileValues) {
      values[name] = fromFile.value;
      origins[name] = {
        source: 'file',
        file: fileValues.path,
        line: fromFile.line,
        key: fromFile.key,
      };
    } else {
      values[name] = s.default?.(env);
      origins[name] = { source: 'default' };
    }
  }
  const v = values as { [K in SettingName]: unknown } & {
    mechanisms: string[];
    allowedOrigins: string[];
    approvedOrigins: string[];
    cmEnabled: boolean;
    cmPorts: number[];
  };
  for (const o of v.approvedOrigins) {
    if (!v.allowedOrigins.includes(o)) {
      throw new ConfigError(
        'approvedOrigins (RXSIGN_APPROVED_ORIGINS) names an origin that is not in allowedOrigins (RXSIGN_ALLOWED_ORIGINS)',
        { key: 'approvedOrigins' },
      );
    }
  }
  const { cmEnabled, cmPorts, ...rest } = values;
  const config = {
    ...(rest as unknown as Config),
    moduleIsDevDefault: origins.modulePath.source === 'default',
    mechanisms: [...BASE_MECHANISMS, ...v.mechanisms],
    cm: { enabled: cmEnabled === true, ports: cmPorts as number[] },
  } satisfies Config;
  return {
    config: deepFreeze(config),
    origins: Object.freeze(origins),
    file: fileValues?.path,
  };
}

/**
 * The configuration from the environment only (default: process.env): no file is read.
 *
 * @example
 * ```ts
 * const config = loadConfig({ RXSIGN_PORT: '0' });
 * config.pollIntervalMs; // 500
 * ```
 */
/** An exact browser origin: `scheme://host[:port]` as the browser sends it (no path, no `null`). */
export function isExactOrigin(o: string): boolean {
  try {
    const u = new URL(o);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
  } catch {
    return false;
  }
}

export function loadConfig(env: Env = process.env): Config {
  return resolveConfig({ env, file: false }).config;
}

/** The PIN for non-interactive use (CI, scripts). Never taken from argv or a file. */
export function readPinFromEnv(env: Env = process.env): string | undefined {
  const pin = env[OTHER_SETTINGS.pin.env];
  return pin === undefined || pin === '' ? undefined : pin;
}

/** One line of `rxsign config check`: the setting, its effective value (secrets masked) and its origin. */
export interface EffectiveSetting {
  readonly name: string;
  readonly env: string;
  readonly file: string | undefined;
  readonly value: unknown;
  readonly secret: boolean;
  readonly origin: Origin;
}

const MASK = '********';

/** Masks a secret, and the password of a URL's user information. */
function masked(s: Setting, value: unknown): unknown {
  if (value === undefined) {
    return undefined;
  }
  if (s.secret === true) {
    return MASK;
  }
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(value)) {
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${MASK}@`);
  }
  return value;
}

/**
 * The effective configuration, setting by setting, for `rxsign config check`: values masked where secret,
 * each with where it came from. The environment-only settings (the PIN) are listed when set.
 */
export function describeConfig(
  resolved: ResolvedConfig,
  env: Env = process.env,
): EffectiveSetting[] {
  const out: EffectiveSetting[] = [];
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    const value =
      name === 'cmEnabled'
        ? resolved.config.cm.enabled
        : name === 'cmPorts'
          ? resolved.config.cm.ports
          : (resolved.config as never)[name];
    out.push({
      name,
      env: s.env,
      file: s.file,
      value: masked(s, value),
      secret: s.secret === true,
      origin: resolved.origins[name],
    });
  }
  for (const [name, s] of Object.entries(OTHER_SETTINGS) as [string, Setting][]) {
    const raw = env[s.env];
    out.push({
      name,
      env: s.env,
      file: undefined,
      value: raw === undefined || raw === '' ? undefined : masked(s, raw),
      secret: s.secret === true,
      origin:
        raw === undefined || raw === '' ? { source: 'default' } : { source: 'env', env: s.env },
    });
  }
  return out;
}

/** The README's configuration table, row by row (cells as written; test/config.test.ts compares them). */
export function configTableRows(): string[][] {
  const rows = [['File key', 'Environment variable', 'Type', 'Default', 'Meaning']];
  const all = [...Object.entries(SETTINGS), ...Object.entries(OTHER_SETTINGS)] as [
    string,
    Setting,
  ][];
  for (const [name, s] of all) {
    let def = '—';
    if (s.default) {
      // absolute stand-ins (a relative XDG folder is ignored), shown as the variables' names
      const v = s.default({
        XDG_STATE_HOME: '/XDG_STATE_HOME',
        XDG_RUNTIME_DIR: '/XDG_RUNTIME_DIR',
      });
      const shown =
        name === 'modulePath'
          ? 'SoftHSM2'
          : Array.isArray(v)
            ? v.join(',')
            : v !== null && typeof v === 'object'
              ? ''
              : String(v).replace(/^\/(XDG_[A-Z_]+)/, '$$$1');
      def = shown === '' ? '—' : `\`${shown}\``;
    }
    rows.push([
      s.file ? `\`${s.file}\`` : '—',
      `\`${s.env}\``,
      s.kind.type,
      def,
      `${s.doc}${s.secret ? ' (secret: masked)' : ''}`,
    ]);
  }
  return rows;
}

/** The table as Markdown (prettier may align it; the cells are what count). */
export function renderConfigTable(): string {
  const [head, ...body] = configTableRows();
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return `${[line(head ?? []), line((head ?? []).map(() => '---')), ...body.map(line)].join('\n')}\n`;
}
