/**
 * rxsign's command line. Each command is a small module with its own --help; this file only dispatches.
 */
import { processIo, type Io } from './output.js';
import { runTokens } from './tokens.js';

export const MAIN_HELP = `rxsign — an open, Linux-first identity agent and signing service for NHS e-prescribing

Usage: rxsign <command> [options]

Commands:
  tokens                 list slots, tokens and certificates of the PKCS#11 module
  serve                  run the agent (local HTTP API: login, Ticket API, signing, verification)
  spine-sim              run the Spine Security Broker simulator
  cis2-sim               run the CIS2 Authentication (OpenID Connect) simulator
  login | ticket | logout | status   talk to the running agent (Ticket API)
  prepare BUNDLE.json    compute EPS $prepare (digest, timestamp, algorithm) for a FHIR Bundle, locally
  open                   open the agent page (card, PIN, roles, web pages asking for approval)
  sign eps|hl7|cms       sign a $prepare digest, an HL7 v3 prescription or any document (CMS)
  verify FILE…           verify prescriptions (HL7 v3, FHIR) and CMS signatures
  audit verify           check the signing audit log's hash chain
  demo                   the agent with a SoftHSM demo card and the built-in Spine and CIS2 simulators
  health                 exit 0 when the running agent answers (container health checks)
  config check           print the effective configuration (secrets masked) and where each value came from
  service install|uninstall   the systemd user unit (packaging/rxsign.service)

Run 'rxsign <command> --help' for a command's options. PINs are read from RXSIGN_PIN or a prompt, never argv.
`;

type Command = (argv: string[], io: Io) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  tokens: async () => runTokens,
  verify: async () => (await import('./verify.js')).runVerify,
  sign: async () => (await import('./sign.js')).runSign,
  prepare: async () => (await import('./prepare.js')).runPrepare,
  serve: async () => (await import('./agent.js')).runServe,
  demo: async () => (await import('./agent.js')).runDemo,
  login: async () => (argv, io) =>
    import('./client.js').then((m) => m.runClient('login', argv, io)),
  ticket: async () => (argv, io) =>
    import('./client.js').then((m) => m.runClient('ticket', argv, io)),
  logout: async () => (argv, io) =>
    import('./client.js').then((m) => m.runClient('logout', argv, io)),
  status: async () => (argv, io) =>
    import('./client.js').then((m) => m.runClient('status', argv, io)),
  health: async () => (argv, io) =>
    import('./client.js').then((m) => m.runClient('health', argv, io)),
  config: async () => (await import('./config.js')).runConfig,
  service: async () => async (argv, io) => (await import('./service.js')).runService(argv, io),
  open: async () => (argv, io) => import('./client.js').then((m) => m.runClient('open', argv, io)),
  'spine-sim': async () => async (argv, io) =>
    (await import('./spine-sim.js')).runSpineSim(argv, io),
  'cis2-sim': async () => async (argv, io) => (await import('./cis2-sim.js')).runCis2Sim(argv, io),
  audit: async () => async (argv, io) => {
    const [sub, ...rest] = argv;
    if (sub !== 'verify') {
      io.err('rxsign: usage: rxsign audit verify [--log PATH] [--json]');
      return 2;
    }
    const { runAuditVerify } = await import('./audit.js');
    return runAuditVerify(
      rest,
      { defaultPath: (await import('../config.js')).resolveConfig().config.auditLogPath },
      io,
    );
  },
};

/**
 * Runs the CLI; returns the exit status.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['tokens', '--json']);
 * ```
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.out(`rxsign ${(await import('../version.js')).VERSION}`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    io.err(`rxsign: unknown command '${name}' (see rxsign --help)`);
    return 2;
  }
  return (await load())(rest, io);
}
