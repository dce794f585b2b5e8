/**
 * `rxsign audit verify [--log PATH] [--json] [--help]`.
 *
 * Exit status: 0 the log verifies, 1 the log is broken, 2 usage or I/O error. Human output is one line;
 * `--json` prints one JSON object on stdout, also for an I/O error.
 */
import { parseArgs } from 'node:util';
import { verifyAuditLog } from '../audit/index.js';
import { isServiceError } from '../errors.js';
import { processIo, type Io } from './output.js';

function usage(defaultPath: string): string {
  return [
    'Usage: rxsign audit verify [--log PATH] [--json]',
    '',
    'Checks every record of the signing audit log (its hash and its link to the record before) and names the',
    'first broken record.',
    '',
    `  --log PATH   the audit log (default: ${defaultPath})`,
    '  --json       print the result as one JSON object',
    '  -h, --help   show this help',
    '',
    'Exit status: 0 the log verifies, 1 the log is broken, 2 usage or I/O error.',
    '',
  ].join('\n');
}

/**
 * Runs `rxsign audit verify`; `argv` is what follows `verify`. Resolves with the exit status.
 *
 * @example
 * ```ts
 * process.exitCode = await runAuditVerify(['--json'], { defaultPath: config.auditLogPath });
 * ```
 */
export async function runAuditVerify(
  argv: readonly string[],
  options: { readonly defaultPath: string },
  io: Io = processIo,
): Promise<number> {
  let values: { log?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        log: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const why = err instanceof Error ? err.message : 'invalid arguments';
    io.err(`rxsign audit verify: ${why}\n\n${usage(options.defaultPath)}`);
    return 2;
  }
  if (values.help === true) {
    io.out(usage(options.defaultPath));
    return 0;
  }
  const path = values.log ?? options.defaultPath;
  const json = values.json === true;
  let result;
  try {
    result = await verifyAuditLog(path);
  } catch (err) {
    const code = isServiceError(err) ? err.code : 'ERR_INTERNAL';
    const cause =
      err instanceof Error && err.cause instanceof Error && 'code' in err.cause
        ? String(err.cause.code)
        : undefined;
    if (json) {
      io.out(
        `${JSON.stringify({ ok: false, path, error: { code, ...(cause === undefined ? {} : { cause }) } })}\n`,
      );
    } else {
      io.err(
        `rxsign audit verify: cannot read ${path}${cause === undefined ? '' : ` (${cause})`}\n`,
      );
    }
    return 2;
  }
  if (json) {
    io.out(`${JSON.stringify({ path, ...result })}\n`);
  } else if (result.firstBroken === undefined) {
    const torn =
      result.tornTail === true
        ? ' (torn last line: never acknowledged; repaired on next open)'
        : '';
    io.out(`audit log OK: ${result.records} records${torn}\n`);
  } else {
    const { seq, line, reason } = result.firstBroken;
    io.out(`audit log BROKEN at record ${seq} (line ${line}): ${reason}\n`);
  }
  return result.ok ? 0 : 1;
}
