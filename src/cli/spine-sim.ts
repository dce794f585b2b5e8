/**
 * `rxsign spine-sim --users FILE --trust DIR [--crl DIR] [--port N] [--host H] [--faults] [--allow-origin O]… [--help]`.
 *
 * Prints the URL on start, a one-line error for bad input (exit 2), and stops on SIGINT/SIGTERM (exit 0)
 * or when `signal` aborts (tests): the start-up and stop every simulator command shares (simulator.ts).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SIM_PORT } from '../config.js';
import { createLogger } from '../log.js';
import { startSpineSim } from '../spine-sim/index.js';
import { processIo, type Io } from './output.js';
import { loadSimulatorFiles, runSimulator, SIMULATOR_OPTIONS } from './simulator.js';

const USAGE = `Usage: rxsign spine-sim --users FILE --trust DIR [--crl DIR] [--port N] [--host H] [--faults]
                        [--allow-origin ORIGIN]...

A local Spine Security Broker (CIS smartcard login) simulator for tests and demos.

  --users FILE   users and role profiles (JSON; see docs/spine-sim.md)
  --trust DIR    CA certificates, PEM or DER (self-signed = anchors, others = intermediates)
  --crl DIR      CRLs, PEM or DER (optional)
  --port N       port to listen on (default ${DEFAULT_SIM_PORT}; 0 = any free port)
  --host H       address to listen on (default 127.0.0.1); requests must still name a loopback Host
  --faults       mount the fault-injection routes /_sim/* (tests only: off by default)
  --allow-origin ORIGIN
                 a browser origin (scheme://host:port) allowed to call; repeatable (default: none)
  --help         this text
`;

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
  io: Io = processIo,
  signal?: AbortSignal,
): Promise<number> {
  return runSimulator(
    {
      name: 'spine-sim',
      usage: USAGE,
      defaultPort: DEFAULT_SIM_PORT,
      parse: (args) =>
        parseArgs({
          args,
          options: {
            ...SIMULATOR_OPTIONS,
            faults: { type: 'boolean' },
            'allow-origin': { type: 'string', multiple: true },
          },
          strict: true,
          allowPositionals: false,
        }).values,
      prepare: (values, listen) => {
        const { users, trust, crl } = values;
        if (users === undefined || trust === undefined) {
          return '--users FILE and --trust DIR are required (see --help)';
        }
        return () =>
          startSpineSim({
            ...listen,
            ...loadSimulatorFiles(users, trust, crl),
            adminRoutes: values.faults === true,
            allowedOrigins: values['allow-origin'] ?? [],
            logger: createLogger({ name: 'spine-sim' }),
          });
      },
      ready: (server) => `spine-sim listening on ${server.url}`,
    },
    argv,
    io,
    signal,
  );
}
