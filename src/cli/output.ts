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
 * Prints one line for an error (never a stack trace) and returns the exit status. isServiceError takes any
 * Error with an ERR_ code, so a ConfigError and node's parseArgs errors (ERR_PARSE_ARGS_*) land in the first
 * branch too.
 */
export function reportError(io: Io, err: unknown, context?: string): number {
  if (isServiceError(err)) {
    io.err(`rxsign: ${err.message}${context ? ` (${context})` : ''} [${err.code}]`);
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
