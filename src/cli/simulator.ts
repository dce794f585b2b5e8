/**
 * What the simulator commands (`rxsign spine-sim`, `rxsign cis2-sim`) share: the options they both have (where
 * to listen; the users file and the PKI folders, read by the Spine simulator's loaders), starting the server,
 * saying where it listens and waiting to be stopped. Each command brings its other options, checks and server.
 *
 * Rules:
 * - every failure is one line on stderr, `rxsign <name>: …`, and exit status 2: bad arguments, a bad port, a
 *   missing or bad option, a server that cannot start. Never a stack trace: a start-up error prints its
 *   table's message and the field at fault (`detail.field`, never the value), an OS error only its code;
 * - `--help` prints the usage and exits 0, before anything is checked;
 * - `--port` is an integer from 0 to 65535 (0 = any free port); `--host` defaults to 127.0.0.1;
 * - once listening, the command prints where, runs until SIGINT/SIGTERM (or until the caller's signal aborts:
 *   tests), then closes the server and exits 0.
 */
import { isServiceError } from '../errors.js';
import { loadCrlDir, loadTrustDir, loadUsersFile } from '../spine-sim/index.js';
import { fieldOf, type Io } from './output.js';
import { untilStopped } from './signals.js';

/** The options every simulator command has; spread them into its `parseArgs` options. */
export const SIMULATOR_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  users: { type: 'string' },
  trust: { type: 'string' },
  crl: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The values of {@link SIMULATOR_OPTIONS}. */
export interface SimulatorValues {
  port?: string;
  host?: string;
  users?: string;
  trust?: string;
  crl?: string;
  help?: boolean;
}

/**
 * Reads `--users FILE`, `--trust DIR` and `--crl DIR` (none when absent), in that order; throws the loaders'
 * typed errors (docs/spine-sim.md).
 *
 * @example
 * ```ts
 * startSpineSim({ ...listen, ...loadSimulatorFiles(users, trust, crl), logger });
 * ```
 */
export function loadSimulatorFiles(users: string, trust: string, crl: string | undefined) {
  return {
    users: loadUsersFile(users),
    trust: loadTrustDir(trust),
    crls: crl === undefined ? [] : loadCrlDir(crl),
  };
}

/** Where the server listens. */
export interface Listen {
  readonly port: number;
  readonly host: string;
}

/**
 * One simulator command.
 *
 * @example
 * ```ts
 * const cmd: SimulatorCommand<typeof values, Server> = { name: 'spine-sim', usage, defaultPort: 8731, parse, prepare, ready };
 * ```
 */
export interface SimulatorCommand<V extends SimulatorValues, S> {
  /** The command's name, as typed after `rxsign`. */
  readonly name: string;
  readonly usage: string;
  readonly defaultPort: number;
  /** `parseArgs` over the command's options and {@link SIMULATOR_OPTIONS}, strict; throws on bad arguments. */
  parse(argv: string[]): V;
  /**
   * Checks the command's own options: a one-line message for a bad one, or how to start the server (any error
   * the start throws is reported as one line).
   */
  prepare(values: V, listen: Listen): string | (() => Promise<S>);
  /** What to print once the server listens. */
  ready(server: S): string;
}

/**
 * Parses `--port`: an integer from 0 to 65535, `fallback` when absent; undefined when it is not one.
 *
 * @example
 * ```ts
 * listenPort('0', 8731); // 0
 * listenPort('x', 8731); // undefined
 * ```
 */
export function listenPort(value: string | undefined, fallback: number): number | undefined {
  const port = value === undefined ? fallback : Number(value);
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined;
}

/**
 * Runs a simulator command until it is stopped; resolves with the exit status.
 *
 * @example
 * ```ts
 * process.exitCode = await runSimulator(spineSim, ['--users', 'users.json', '--trust', 'pki/trust'], io);
 * ```
 */
export async function runSimulator<V extends SimulatorValues, S extends { close(): Promise<void> }>(
  cmd: SimulatorCommand<V, S>,
  argv: string[],
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  const fail = (message: string): number => {
    io.err(`rxsign ${cmd.name}: ${message}`);
    return 2;
  };
  let values: V;
  try {
    values = cmd.parse(argv);
  } catch {
    return fail('bad arguments (see --help)');
  }
  if (values.help === true) {
    io.out(cmd.usage);
    return 0;
  }
  const port = listenPort(values.port, cmd.defaultPort);
  if (port === undefined) {
    return fail('--port must be an integer from 0 to 65535');
  }
  const start = cmd.prepare(values, { port, host: values.host ?? '127.0.0.1' });
  if (typeof start === 'string') {
    return fail(start);
  }
  let server: S;
  try {
    server = await start();
  } catch (err) {
    if (isServiceError(err)) {
      const field = fieldOf(err);
      return fail(field === undefined ? err.message : `${err.message} (${field})`);
    }
    const code = (err as { code?: unknown }).code;
    return fail(typeof code === 'string' ? `cannot start (${code})` : 'cannot start');
  }
  io.out(cmd.ready(server));
  await untilStopped(signal);
  await server.close();
  return 0;
}
