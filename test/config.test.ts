// src/config.ts: a bad value fails with ERR_CONFIG_INVALID naming the variable, never its value; the audit
// log's default path comes from the audit folder and is always absolute.
import { isAbsolute } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CONFIG_ERRORS, loadConfig } from '../src/config.js';
import type { ServiceError } from '../src/errors.js';

function thrown(run: () => unknown): ServiceError {
  try {
    run();
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('did not throw');
}

describe('loadConfig', () => {
  test('a bad value is ERR_CONFIG_INVALID with the table message; the detail names the variable, not the value', () => {
    const err = thrown(() => loadConfig({ RXSIGN_PORT: '99999999-secret' }));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toBe(CONFIG_ERRORS.ERR_CONFIG_INVALID.message);
    expect(String(err.detail?.field)).toMatch(/^RXSIGN_PORT: /);
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
