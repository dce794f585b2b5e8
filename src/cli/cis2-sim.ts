/**
 * `rxsign cis2-sim --users FILE --trust DIR [--crl DIR] --clients FILE [--port N] [--host H] [--agent URL]
 * [--public-url URL] [--explicit-port-issuer] [--help]`.
 *
 * Prints the URL and the issuer on start, a one-line error for bad input (exit 2), and stops on SIGINT/SIGTERM
 * (exit 0) or when `signal` aborts (tests): the start-up and stop every simulator command shares (simulator.ts).
 * Writes through the CLI's `Io` like every other command.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_AGENT_URL, loadClientsFile, startCis2Sim } from '../cis2-sim/index.js';
import { createLogger } from '../log.js';
import { processIo, type Io } from './output.js';
import { loadSimulatorFiles, runSimulator, SIMULATOR_OPTIONS } from './simulator.js';

export const DEFAULT_CIS2_SIM_PORT = 8732;

export const CIS2_SIM_USAGE = `Usage: rxsign cis2-sim --users FILE --trust DIR [--crl DIR] --clients FILE [options]

A local CIS2 Authentication (OpenID Connect) simulator for tests and demos, built on oidc-provider. Its
smartcard step asks the rxsign agent for a card assertion: rxsign's own protocol, not NHS's (docs/cis2-sign-in.md).

  --users FILE            users and roles (the Security Broker simulator's file; docs/spine-sim.md)
  --trust DIR             CA certificates, PEM or DER (self-signed = anchors, others = intermediates)
  --crl DIR               CRLs, PEM or DER (optional)
  --clients FILE          relying parties (JSON; docs/cis2-sign-in.md)
  --port N                port to listen on (default ${DEFAULT_CIS2_SIM_PORT}; 0 = any free port)
  --host H                address to listen on (default 127.0.0.1)
  --agent URL             the rxsign agent the login page asks (default ${DEFAULT_AGENT_URL})
  --public-url URL        the base URL browsers and relying parties use (default http://HOST:PORT)
  --explicit-port-issuer  write the issuer with its port even when it is the default (https://host:443/…),
                          as CIS2's INT issuer is, to catch exact-match bugs in relying parties
  --help                  this text
`;

function httpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !u.search;
  } catch {
    return false;
  }
}

/**
 * Runs the simulator until interrupted; resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runCis2Sim(['--users', 'users.json', '--trust', 'pki/trust', '--clients', 'c.json']);
 * ```
 */
export async function runCis2Sim(
  argv: string[],
  io: Io = processIo,
  signal?: AbortSignal,
): Promise<number> {
  return runSimulator(
    {
      name: 'cis2-sim',
      usage: CIS2_SIM_USAGE,
      defaultPort: DEFAULT_CIS2_SIM_PORT,
      parse: (args) =>
        parseArgs({
          args,
          options: {
            ...SIMULATOR_OPTIONS,
            clients: { type: 'string' },
            agent: { type: 'string' },
            'public-url': { type: 'string' },
            'explicit-port-issuer': { type: 'boolean' },
          },
          strict: true,
          allowPositionals: false,
        }).values,
      prepare: (values, listen) => {
        const { users, trust, crl, clients } = values;
        if (users === undefined || trust === undefined || clients === undefined) {
          return '--users FILE, --trust DIR and --clients FILE are required (see --help)';
        }
        const agent = values.agent ?? DEFAULT_AGENT_URL;
        const publicUrl = values['public-url'];
        if (!httpUrl(agent) || (publicUrl !== undefined && !httpUrl(publicUrl))) {
          return '--agent and --public-url must be http(s)://host[:port] URLs';
        }
        return () =>
          startCis2Sim({
            ...listen,
            ...loadSimulatorFiles(users, trust, crl),
            clients: loadClientsFile(clients),
            agentUrl: agent,
            ...(publicUrl ? { publicUrl: publicUrl.replace(/\/$/, '') } : {}),
            explicitPortIssuer: values['explicit-port-issuer'] === true,
            logger: createLogger({ name: 'cis2-sim' }),
          });
      },
      ready: (server) => `cis2-sim listening on ${server.url}\n  issuer: ${server.issuer}`,
    },
    argv,
    io,
    signal,
  );
}
