/** Terminal output helpers for the CLI: one clear line for an error, JSON for scripts. */
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
