// The CLI's one error line: the table's message, the field at fault (detail.field, never a value), the code;
// a usage mistake points at the command's help; parseOrExit answers refused arguments and --help.
import { parseArgs } from 'node:util';
import { describe, expect, test } from 'vitest';
import { parseOrExit, reportError, usageError, type Io } from '../../src/cli/output.js';
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

describe('usageError', () => {
  test("one line that points at the command's help; exit status 2", () => {
    const c = capture();
    expect(usageError(c.io, 'verify', 'verify needs at least one FILE')).toBe(2);
    expect(c.err).toEqual(['rxsign: verify needs at least one FILE (see rxsign verify --help)']);
  });
});

describe('parseOrExit', () => {
  const parse = (args: string[]) => () =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });

  test('parsed arguments are returned as parseArgs gives them', () => {
    const c = capture();
    const parsed = parseOrExit(c.io, 'HELP', parse(['--json', 'a.xml']));
    expect(parsed).toMatchObject({ values: { json: true, help: false }, positionals: ['a.xml'] });
    expect(c.err).toEqual([]);
  });

  test('--help prints the help text and is done with exit status 0', () => {
    const out: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: () => undefined };
    expect(parseOrExit(io, 'HELP', parse(['--help', '--json']))).toBe(0);
    expect(out).toEqual(['HELP']);
  });

  test("arguments parseArgs refuses are one line with parseArgs' code; exit status 2", () => {
    const c = capture();
    expect(parseOrExit(c.io, 'HELP', parse(['--bogus']))).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^rxsign: .* \[ERR_PARSE_ARGS_UNKNOWN_OPTION\]$/);
  });
});
