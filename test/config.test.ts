// The configuration (src/config.ts): one declaration per setting read by the file and the environment;
// errors name the key (and the file and line), never the value; `rxsign config check` masks secrets and
// says where each value came from; the README's table is the declarations, rendered.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  CONFIG_ERRORS,
  ConfigError,
  SETTINGS,
  defaultConfigFile,
  describeConfig,
  loadConfig,
  configTableRows,
  resolveConfig,
} from '../src/config.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'bin', 'rxsign.js');

function tempConfig(name: string, text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-config-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return { dir, file };
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('did not throw');
}

describe('loadConfig', () => {
  test('a bad value is ERR_CONFIG_INVALID with the table message; the detail names the variable, not the value', () => {
    const err = thrown(() => loadConfig({ RXSIGN_PORT: '99999999-secret' }));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toBe(CONFIG_ERRORS.ERR_CONFIG_INVALID.message);
    expect(String(err.detail?.field)).toMatch(/^RXSIGN_PORT\b/);
    expect(JSON.stringify({ message: err.message, detail: err.detail })).not.toContain('secret');
  });

  test('a relative XDG_STATE_HOME is ignored: the audit log path stays absolute, under HOME', () => {
    const config = loadConfig({ XDG_STATE_HOME: 'relative/state', HOME: '/home/alice' });
    expect(isAbsolute(config.auditLogPath)).toBe(true);
    expect(config.auditLogPath).toBe('/home/alice/.local/state/rxsign/audit.log');
  });

  test('an absolute XDG_STATE_HOME holds the audit log; RXSIGN_AUDIT_LOG wins over both', () => {
    expect(loadConfig({ XDG_STATE_HOME: '/var/state', HOME: '/home/a' }).auditLogPath).toBe(
      '/var/state/rxsign/audit.log',
    );
    expect(
      loadConfig({ XDG_STATE_HOME: '/var/state', RXSIGN_AUDIT_LOG: '/x/audit.log' }).auditLogPath,
    ).toBe('/x/audit.log');
  });
});
describe('environment only (loadConfig)', () => {
  test('defaults', () => {
    const c = loadConfig({ XDG_STATE_HOME: '/tmp/state' });
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8730,
      pollIntervalMs: 500,
      ssbUrl: 'http://127.0.0.1:8731',
      pinPolicy: 'session',
      signWithoutRole: false,
      auditLogPath: '/tmp/state/rxsign/audit.log',
      moduleIsDevDefault: true,
      allowedOrigins: [],
      mechanisms: ['SHA256_RSA_PKCS', 'SHA1_RSA_PKCS', 'RSA_PKCS'],
    });
    expect(Object.isFrozen(c.mechanisms)).toBe(true);
  });

  test('a bad variable is named, its value never shown', () => {
    const e = thrown(() => loadConfig({ RXSIGN_PORT: 'secret-99999' }));
    expect(e.where).toContain('RXSIGN_PORT');
    expect(e.where).toContain('whole number from 0 to 65535');
    expect(e.where).not.toContain('secret-99999');
    expect(e.code).toBe('ERR_CONFIG_INVALID');
    expect(thrown(() => loadConfig({ RXSIGN_SIGN_WITHOUT_ROLE: 'yes' })).where).toContain(
      'RXSIGN_SIGN_WITHOUT_ROLE must be true or false',
    );
    expect(thrown(() => loadConfig({ RXSIGN_ALLOWED_ORIGINS: 'https://a.example/path' })).key).toBe(
      'RXSIGN_ALLOWED_ORIGINS',
    );
  });

  test('never reads a file, even when the default one exists', () => {
    const { dir } = tempConfig('x', '');
    mkdirSync(join(dir, 'rxsign'));
    writeFileSync(join(dir, 'rxsign', 'config.yaml'), 'port: 1234\n');
    expect(loadConfig({ XDG_CONFIG_HOME: dir }).port).toBe(8730);
    expect(resolveConfig({ env: { XDG_CONFIG_HOME: dir } }).config.port).toBe(1234);
  });
});

describe('the configuration file', () => {
  const yaml = `# rxsign
module: /opt/card/libpkcs11.so
token: prescriber
brokerUrl: https://broker.example:8443
port: 9000
allowedOrigins:
  - https://ehr.example
  - http://localhost:3000
signWithoutRole: true
trustDir: trust
sessionIdleMinutes: 20
`;

  test('every key read, relative paths against the file; where each value came from', () => {
    const { dir, file } = tempConfig('config.yaml', yaml);
    const { config, origins } = resolveConfig({ env: {}, file });
    expect(config).toMatchObject({
      modulePath: '/opt/card/libpkcs11.so',
      moduleIsDevDefault: false,
      tokenLabel: 'prescriber',
      ssbUrl: 'https://broker.example:8443',
      port: 9000,
      allowedOrigins: ['https://ehr.example', 'http://localhost:3000'],
      signWithoutRole: true,
      trustDir: join(dir, 'trust'),
      sessionIdleMinutes: 20,
    });
    expect(origins.port).toEqual({ source: 'file', file, line: 5, key: 'port' });
    expect(origins.allowedOrigins).toMatchObject({ source: 'file', line: 6 });
    expect(origins.pollIntervalMs).toEqual({ source: 'default' });
  });

  test('the environment overrides the file', () => {
    const { file } = tempConfig('config.yaml', yaml);
    const { config, origins } = resolveConfig({
      env: { RXSIGN_PORT: '9100', RXSIGN_ALLOWED_ORIGINS: 'https://other.example' },
      file,
    });
    expect(config.port).toBe(9100);
    expect(config.allowedOrigins).toEqual(['https://other.example']);
    expect(origins.port).toEqual({ source: 'env', env: 'RXSIGN_PORT' });
    expect(config.tokenLabel).toBe('prescriber');
  });

  test('JSON is read too', () => {
    const { file } = tempConfig('config.json', '{ "port": 9001, "pinPolicy": "per-signature" }');
    expect(resolveConfig({ env: {}, file }).config).toMatchObject({
      port: 9001,
      pinPolicy: 'per-signature',
    });
  });

  test('a bad value names the file, the line and the key, never the value', () => {
    const { file } = tempConfig('config.yaml', 'token: x\n\nport: "hunter2"\n');
    const e = thrown(() => resolveConfig({ env: {}, file }));
    expect(e.where).toBe(`${file}:3: port must be a whole number from 0 to 65535`);
    expect(e.where).not.toContain('hunter2');
    expect({ key: e.key, file: e.file, line: e.line }).toEqual({ key: 'port', file, line: 3 });
  });

  test('a bad list entry names its own line', () => {
    const { file } = tempConfig(
      'config.yaml',
      'allowedOrigins:\n  - https://ehr.example\n  - https://ehr.example/path\n',
    );
    const e = thrown(() => resolveConfig({ env: {}, file }));
    expect(e.where).toBe(
      `${file}:3: allowedOrigins[1] must be exact origins such as https://app.example.nhs.uk (scheme://host[:port], no path, not null)`,
    );
  });

  test('an unknown key, a key given twice, broken YAML, a file that is not a map', () => {
    const unknown = tempConfig('c.yaml', 'port: 1\nprot: 2\n');
    const e1 = thrown(() => resolveConfig({ env: {}, file: unknown.file }));
    expect(e1.where).toContain(`${unknown.file}:2: prot is not a setting`);
    const twice = tempConfig('c.yaml', 'port: 1\nport: 2\n');
    expect(thrown(() => resolveConfig({ env: {}, file: twice.file })).where).toMatch(
      /c\.yaml:\d+: not valid YAML/,
    );
    const broken = tempConfig('c.yaml', 'port: 1\ntoken: [unclosed\n');
    expect(thrown(() => resolveConfig({ env: {}, file: broken.file })).line).toBeGreaterThan(0);
    const list = tempConfig('c.yaml', '- port\n');
    expect(thrown(() => resolveConfig({ env: {}, file: list.file })).where).toContain(
      'must be a map of settings',
    );
  });

  test('a missing explicit file is an error; a missing default file is fine; an empty file is defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxsign-config-'));
    expect(thrown(() => resolveConfig({ env: {}, file: join(dir, 'nope.yaml') })).where).toContain(
      'cannot read the configuration file',
    );
    const r = resolveConfig({ env: { XDG_CONFIG_HOME: dir } });
    expect(r.file).toBeUndefined();
    expect(defaultConfigFile({ XDG_CONFIG_HOME: dir })).toBe(join(dir, 'rxsign', 'config.yaml'));
    const empty = tempConfig('c.yaml', '# nothing yet\n');
    expect(resolveConfig({ env: {}, file: empty.file }).config.port).toBe(8730);
  });

  test('the PIN can never come from a file', () => {
    const { file } = tempConfig('c.yaml', 'pin: "1234"\n');
    expect(thrown(() => resolveConfig({ env: {}, file })).where).toContain('pin is not a setting');
  });
});

describe('config check', () => {
  test('describeConfig masks secrets and URL passwords and gives each origin', () => {
    const env = { RXSIGN_PIN: '246810', RXSIGN_SSB_URL: 'https://user:pw@broker.example/' };
    const out = describeConfig(resolveConfig({ env, file: false }), env);
    expect(out.find((s) => s.env === 'RXSIGN_PIN')).toMatchObject({
      value: '********',
      origin: { source: 'env' },
    });
    expect(out.find((s) => s.env === 'RXSIGN_SSB_URL')?.value).toBe(
      'https://********@broker.example/',
    );
    expect(JSON.stringify(out)).not.toContain('246810');
    expect(JSON.stringify(out)).not.toContain('pw@');
    expect(out.map((s) => s.env)).toEqual(
      expect.arrayContaining(Object.values(SETTINGS).map((s) => s.env)),
    );
  });

  test('rxsign config check --json: file, env and default origins; exit 2 naming file and line', async () => {
    const { dir, file } = tempConfig('config.yaml', 'port: 9000\ntoken: prescriber\n');
    const env = {
      PATH: process.env.PATH,
      XDG_CONFIG_HOME: dir,
      RXSIGN_TOKEN: 'other',
      RXSIGN_PIN: '13579',
    };
    const { stdout } = await run(
      process.execPath,
      [cli, 'config', 'check', '--config', file, '--json'],
      {
        env,
      },
    );
    expect(stdout).not.toContain('13579');
    const out = JSON.parse(stdout) as {
      file: string;
      settings: {
        fileKey: string | null;
        env: string;
        value: unknown;
        origin: { source: string };
      }[];
    };
    expect(out.file).toBe(file);
    const by = (k: string) => out.settings.find((s) => s.env === k);
    expect(by('RXSIGN_PORT')).toMatchObject({ value: 9000, origin: { source: 'file', line: 1 } });
    expect(by('RXSIGN_TOKEN')).toMatchObject({ value: 'other', origin: { source: 'env' } });
    expect(by('RXSIGN_POLL_MS')).toMatchObject({ value: 500, origin: { source: 'default' } });
    expect(by('RXSIGN_PIN')).toMatchObject({ value: '********' });

    const text = await run(process.execPath, [cli, 'config', 'check'], {
      env: { ...env, RXSIGN_PIN: '' },
    });
    expect(text.stdout).toContain(
      `configuration file: none (${join(dir, 'rxsign', 'config.yaml')} does not exist)`,
    );
    expect(text.stdout).toMatch(/token\s+"other"\s+\[env RXSIGN_TOKEN\]/);

    writeFileSync(file, 'port: 9000\nlogLevel: loud\n');
    const bad = await run(process.execPath, [cli, 'config', 'check', '--config', file], {
      env,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${file}:2: logLevel must be one of`);
    expect(bad.stderr).toContain('[ERR_CONFIG_INVALID]');
  });
});

test('README.md lists every setting: its configuration table is the declarations, rendered', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^\|\s*File key\s*\|/.test(l));
  expect(start, 'README.md has the configuration table').toBeGreaterThan(0);
  const rows: string[][] = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith('|')) {
      break;
    }
    if (!/^\|[\s|:-]+\|$/.test(l)) {
      rows.push(
        l
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim()),
      );
    }
  }
  expect(rows).toEqual(configTableRows());
});

test('rxsign serve --config with a missing file stops before starting, naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-config-'));
  const missing = join(dir, 'nope.yaml');
  const r = await run(process.execPath, [cli, 'serve', '--config', missing], {
    env: { PATH: process.env.PATH, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir },
  }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  );
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`cannot read the configuration file ${missing} (ENOENT)`);
});
