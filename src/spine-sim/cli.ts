/**
 * `rxsign spine-sim --users FILE --trust DIR [--crl DIR] [--port N] [--host H] [--faults] [--allow-origin O]… [--help]`.
 *
 * Prints the URL on start, a one-line error for bad input (exit 2), and stops on SIGINT/SIGTERM (exit 0)
 * or when `io.signal` aborts (tests).
 */
import { parseArgs } from 'node:util';
import { untilStopped } from '../cli/signals.js';
import { createLogger } from '../log.js';
import { isServiceError } from '../errors.js';
import { startSpineSim } from './server.js';
import { loadCrlDir, loadTrustDir } from './trust.js';
import { loadUsersFile } from './users.js';

export const DEFAULT_SPINE_SIM_PORT = 4480;

const USAGE = `Usage: rxsign spine-sim --users FILE --trust DIR [--crl DIR] [--port N] [--host H] [--faults]
                        [--allow-origin ORIGIN]...

A local Spine Security Broker (CIS smartcard login) simulator for tests and demos.

  --users FILE   users and role profiles (JSON; see docs/spine-sim.md)
  --trust DIR    CA certificates, PEM or DER (self-signed = anchors, others = intermediates)
  --crl DIR      CRLs, PEM or DER (optional)
  --port N       port to listen on (default ${DEFAULT_SPINE_SIM_PORT}; 0 = any free port)
  --host H       address to listen on (default 127.0.0.1); requests must still name a loopback Host
  --faults       mount the fault-injection routes /_sim/* (tests only: off by default)
  --allow-origin ORIGIN
                 a browser origin (scheme://host:port) allowed to call; repeatable (default: none)
  --help         this text
`;

/** Where the CLI writes, and how a test stops it. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly signal?: AbortSignal;
}

/**
 * Runs the simulator until interrupted; resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runSpineSim(['--users', 'users.json', '--trust', 'pki/trust']);
 * ```
 */
export async function runSpineSim(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`rxsign spine-sim: ${message}\n`);
    return 2;
  };
  let values: {
    port?: string;
    host?: string;
    users?: string;
    trust?: string;
    crl?: string;
    faults?: boolean;
    'allow-origin'?: string[];
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        users: { type: 'string' },
        trust: { type: 'string' },
        crl: { type: 'string' },
        faults: { type: 'boolean' },
        'allow-origin': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch {
    return fail(`bad arguments (see --help)`);
  }
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const port = values.port === undefined ? DEFAULT_SPINE_SIM_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return fail('--port must be an integer from 0 to 65535');
  }
  if (values.users === undefined || values.trust === undefined) {
    return fail('--users FILE and --trust DIR are required (see --help)');
  }
  let server: Awaited<ReturnType<typeof startSpineSim>>;
  try {
    const users = loadUsersFile(values.users);
    const trust = loadTrustDir(values.trust);
    const crls = values.crl === undefined ? [] : loadCrlDir(values.crl);
    server = await startSpineSim({
      port,
      host: values.host ?? '127.0.0.1',
      users,
      trust,
      crls,
      adminRoutes: values.faults === true,
      allowedOrigins: values['allow-origin'] ?? [],
      logger: createLogger({ name: 'spine-sim' }),
    });
  } catch (err) {
    if (isServiceError(err)) {
      return fail(err.message);
    }
    const code = (err as { code?: unknown }).code;
    return fail(typeof code === 'string' ? `cannot start (${code})` : 'cannot start');
  }
  io.stdout.write(`spine-sim listening on ${server.url}\n`);
  await untilStopped(io.signal);
  await server.close();
  return 0;
}
