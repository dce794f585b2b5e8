// The CLI's one error line: the table's message, the field at fault (detail.field, never a value), the code.
import { describe, expect, test } from 'vitest';
import { reportError, type Io } from '../../src/cli/output.js';
import { configError } from '../../src/config.js';

function capture(): { io: Io; err: string[] } {
  const err: string[] = [];
  return { io: { out: () => undefined, err: (t) => err.push(t) }, err };
}

describe('reportError', () => {
  test('a coded error is one line: message, field at fault, code; exit status 2', () => {
    const c = capture();
    const status = reportError(
      c.io,
      configError('ERR_CONFIG_INVALID', { detail: { field: 'RXSIGN_PORT: too big' } }),
    );
    expect(status).toBe(2);
    expect(c.err).toEqual([
      'rxsign: the configuration is not valid (RXSIGN_PORT: too big) [ERR_CONFIG_INVALID]',
    ]);
  });

  test('an error with no field prints the message, the caller context and the code', () => {
    const c = capture();
    reportError(c.io, configError('ERR_CONFIG_INVALID'), 'serve');
    expect(c.err).toEqual(['rxsign: the configuration is not valid (serve) [ERR_CONFIG_INVALID]']);
  });
});
