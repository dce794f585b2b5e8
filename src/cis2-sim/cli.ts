/**
 * `rxsign cis2-sim --users FILE --trust DIR [--crl DIR] --clients FILE [--port N] [--host H] [--agent URL]
 * [--public-url URL] [--explicit-port-issuer] [--help]`.
 *
 * Prints the URL and the issuer on start, a one-line error for bad input (exit 2), and stops on SIGINT/SIGTERM
 * (exit 0) or when `io.signal` aborts (tests).
 */
import { parseArgs } from 'node:util';
import { untilStopped } from '../cli/signals.js';
import { isServiceError } from '../errors.js';
import { createLogger } from '../log.js';
import { loadCrlDir, loadTrustDir } from '../spine-sim/trust.js';
import { loadUsersFile } from '../spine-sim/users.js';
import { DEFAULT_AGENT_URL } from './app.js';
import { loadClientsFile } from './clients.js';
import { startCis2Sim } from './server.js';

export const DEFAULT_CIS2_SIM_PORT = 8732;

export const CIS2_SIM_USAGE = `Usage: rxsign cis2-sim --users FILE --trust DIR [--crl DIR] --clients FILE [options]

A local CIS2 Authentication (OpenID Connect) simulator for tests and demos, built on oidc-provider. Its
smartcard step asks the rxsign agent for a card assertion: rxsign's own protocol, not NHS's (docs/cis2.md).

  --users FILE            users and roles (the Security Broker simulator's file; docs/spine-sim.md)
  --trust DIR             CA certificates, PEM or DER (self-signed = anchors, others = intermediates)
  --crl DIR               CRLs, PEM or DER (optional)
  --clients FILE          relying parties (JSON; docs/cis2.md)
  --port N                port to listen on (default ${DEFAULT_CIS2_SIM_PORT}; 0 = any free port)
  --host H                address to listen on (default 127.0.0.1)
  --agent URL             the rxsign agent the login page asks (default ${DEFAULT_AGENT_URL})
  --public-url URL        the base URL browsers and relying parties use (default http://HOST:PORT)
  --explicit-port-issuer  write the issuer with its port even when it is the default (https://host:443/…),
                          as CIS2's INT issuer is, to catch exact-match bugs in relying parties
  --help                  this text
`;

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly signal?: AbortSignal;
}

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
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`rxsign cis2-sim: ${message}\n`);
    return 2;
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        users: { type: 'string' },
        trust: { type: 'string' },
        crl: { type: 'string' },
        clients: { type: 'string' },
        agent: { type: 'string' },
        'public-url': { type: 'string' },
        'explicit-port-issuer': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch {
    return fail('bad arguments (see --help)');
  }
  if (values.help === true) {
    io.stdout.write(CIS2_SIM_USAGE);
    return 0;
  }
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const port = str('port') === undefined ? DEFAULT_CIS2_SIM_PORT : Number(str('port'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return fail('--port must be an integer from 0 to 65535');
  }
  const users = str('users');
  const trustDir = str('trust');
  const clientsFile = str('clients');
  if (users === undefined || trustDir === undefined || clientsFile === undefined) {
    return fail('--users FILE, --trust DIR and --clients FILE are required (see --help)');
  }
  const agent = str('agent') ?? DEFAULT_AGENT_URL;
  const publicUrl = str('public-url');
  if (!httpUrl(agent) || (publicUrl !== undefined && !httpUrl(publicUrl))) {
    return fail('--agent and --public-url must be http(s)://host[:port] URLs');
  }
  let server: Awaited<ReturnType<typeof startCis2Sim>>;
  try {
    const crl = str('crl');
    server = await startCis2Sim({
      port,
      host: str('host') ?? '127.0.0.1',
      users: loadUsersFile(users),
      trust: loadTrustDir(trustDir),
      crls: crl === undefined ? [] : loadCrlDir(crl),
      clients: loadClientsFile(clientsFile),
      agentUrl: agent,
      ...(publicUrl ? { publicUrl: publicUrl.replace(/\/$/, '') } : {}),
      explicitPortIssuer: values['explicit-port-issuer'] === true,
      logger: createLogger({ name: 'cis2-sim' }),
    });
  } catch (err) {
    if (isServiceError(err)) {
      return fail(err.message);
    }
    const code = (err as { code?: unknown }).code;
    return fail(typeof code === 'string' ? `cannot start (${code})` : 'cannot start');
  }
  io.stdout.write(`cis2-sim listening on ${server.url}\n  issuer: ${server.issuer}\n`);
  await untilStopped(io.signal);
  await server.close();
  return 0;
}
