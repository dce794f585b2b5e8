/**
 * Where the signing audit log lives by default. The audit folder owns this default: `src/config.ts` uses it
 * for RXSIGN_AUDIT_LOG's default and `rxsign audit verify` for --log's, so the two cannot disagree. The rule:
 * the path is always absolute (a relative XDG_STATE_HOME is ignored, as the XDG Base Directory spec requires).
 */
import { isAbsolute, join } from 'node:path';

/**
 * The default log path from the XDG Base Directory spec: `$XDG_STATE_HOME/rxsign/audit.log`, else
 * `~/.local/state/rxsign/audit.log`. A relative `XDG_STATE_HOME` is ignored, as the spec requires. The values
 * come from `src/config.ts`, the only reader of `process.env`.
 *
 * @example
 * ```ts
 * defaultAuditLogPath({ xdgStateHome: undefined, home: '/home/alice' }); // '/home/alice/.local/state/rxsign/audit.log'
 * ```
 */
export function defaultAuditLogPath(env: {
  readonly xdgStateHome: string | undefined;
  readonly home: string;
}): string {
  const state =
    env.xdgStateHome !== undefined && env.xdgStateHome !== '' && isAbsolute(env.xdgStateHome)
      ? env.xdgStateHome
      : join(env.home, '.local', 'state');
  return join(state, 'rxsign', 'audit.log');
}
