/** Terminal output helpers for the CLI: one clear line for an error or a usage mistake, help text, JSON for scripts. */
import { isServiceError } from '../errors.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/**
 * What an error's `detail.field` names (the variable or field at fault and what is wrong with it, never its
 * value), for the one line the CLI prints; undefined when there is none.
 */
export function fieldOf(err: unknown): string | undefined {
  const detail = (err as { detail?: unknown } | undefined)?.detail;
  const field =
    typeof detail === 'object' && detail !== null
      ? (detail as { field?: unknown }).field
      : undefined;
  return typeof field === 'string' ? field : undefined;
}

/**
 * Prints one line for an error (never a stack trace) and returns the exit status. isServiceError takes any
 * Error with an ERR_ code, so node's parseArgs errors (ERR_PARSE_ARGS_*) land in the first branch too. The
 * table's message is followed by the field at fault (`detail.field`), then the caller's context.
 */
export function reportError(io: Io, err: unknown, context?: string): number {
  if (isServiceError(err)) {
    const where = [fieldOf(err), context].filter((x) => x !== undefined && x !== '').join('; ');
    io.err(`rxsign: ${err.message}${where ? ` (${where})` : ''} [${err.code}]`);
    return 2;
  }
  io.err(`rxsign: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

export function json(io: Io, value: unknown): void {
  io.out(
    JSON.stringify(
      value,
      (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v),
      2,
    ),
  );
}

/**
 * One line for a usage mistake, pointing at the command's help; returns the exit status 2.
 *
 * @example
 * ```ts
 * return usageError(io, 'verify', 'verify needs at least one FILE'); // rxsign: verify needs … (see rxsign verify --help)
 * ```
 */
export function usageError(io: Io, command: string, message: string): number {
  io.err(`rxsign: ${message} (see rxsign ${command} --help)`);
  return 2;
}

/**
 * Runs a command's `parseArgs` and answers what needs no more work: arguments it refuses are one line
 * ({@link reportError}, exit status 2), and `--help` prints the help text (exit status 0). Returns the parsed
 * arguments, or the exit status when the command is done.
 *
 * @example
 * ```ts
 * const parsed = parseOrExit(io, VERIFY_HELP, () => parseArgs({ args: argv, options, strict: true }));
 * if (typeof parsed === 'number') return parsed;
 * ```
 */
export function parseOrExit<R extends { readonly values: { readonly help?: boolean | undefined } }>(
  io: Io,
  help: string,
  parse: () => R,
): R | number {
  let parsed: R;
  try {
    parsed = parse();
  } catch (err) {
    return reportError(io, err);
  }
  if (parsed.values.help === true) {
    io.out(help);
    return 0;
  }
  return parsed;
}
