/**
 * `rxsign serve`: the agent on loopback. `rxsign demo`: the agent with the SoftHSM demo card and the built-in
 * Spine Security Broker simulator side by side.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAgent, type RunningAgent } from '../agent.js';
import { parseCertificate, pemToDer } from '../cms/index.js';
import { DEFAULT_SIM_PORT, resolveConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { loadClientsFile, startCis2Sim } from '../cis2-sim/index.js';
import {
  loadCrlDir,
  loadUsersFile,
  startSpineSim,
  trustFromCertificates,
} from '../spine-sim/index.js';
import { reportError, type Io } from './output.js';
import { untilStopped } from './signals.js';

/** softhsm/cards.json of this installation (where the demo card's PIN is): the nearest one above this file. */
function cardsJson(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'softhsm', 'cards.json')) && dirname(dir) !== dir) {
    dir = dirname(dir);
  }
  return join(dir, 'softhsm', 'cards.json');
}

/** softhsm/cis2-clients.json beside cards.json: the demo's relying party for the CIS2 simulator. */
function cis2ClientsJson(): string {
  return join(dirname(cardsJson()), 'cis2-clients.json');
}

/** The origin of the Credential Management demo page (examples/cm-page/serve.mjs). */
const CM_DEMO_ORIGIN = 'http://localhost:8740';

export const SERVE_HELP = `Usage: rxsign serve [--config FILE] [--port N] [--module PATH] [--token LABEL] [--ssb URL]

Run the agent on 127.0.0.1 and [::1]: the agent page (GET /; open it with rxsign open), the Ticket API
(/ticket-api/*), login and role selection (/api/v1/*), signing, verification, status and events; the API is
described at /api/v1/openapi.json. Every local program sends the key from $XDG_RUNTIME_DIR/rxsign/api-key
(written fresh at each start); web pages need allowedOrigins and the user's approval (docs/security.md).
Configuration: --config FILE, else $XDG_CONFIG_HOME/rxsign/config.yaml when it exists; RXSIGN_* environment
variables override the file and the options override both (README.md "Configuration"; rxsign config check).
SIGTERM or SIGINT ends the Spine session, closes the card module and exits.
`;

export const DEMO_HELP = `Usage: rxsign demo [--port N] [--sim-port N] [--cis2-port N] [--login] [--no-cm]

Run the agent with the SoftHSM demo card ("prescriber") beside the built-in Spine Security Broker simulator
and the CIS2 Authentication simulator (on the Spine simulator's port + 1 unless --cis2-port; its origin is
allowed to ask the agent for card assertions; its demo client is softhsm/cis2-clients.json).
Needs SOFTHSM2_CONF from \`node softhsm/setup.mjs\` (npm run demo does all of it). --login logs the demo card
in at once with its fixture PIN and prints the session. The NHS Credential Management drop-in is on, for the
demo page's origin ${CM_DEMO_ORIGIN} (node examples/cm-page/serve.mjs; docs/cm.md); --no-cm turns it off.
`;

/** Shutdown budget: the broker logout and the module's close must finish within it (systemd waits 5 s). */
const SHUTDOWN_MS = 2000;

/** Exits the process if the shutdown after SIGTERM/SIGINT takes longer than {@link SHUTDOWN_MS}. */
function shutdownWatchdog(io: Io): NodeJS.Timeout {
  const t = setTimeout(() => {
    io.err(`rxsign: shutdown did not finish within ${SHUTDOWN_MS} ms; exiting`);
    process.exit(1);
  }, SHUTDOWN_MS);
  t.unref();
  return t;
}

async function start(config: Config, listenPort?: number): Promise<RunningAgent> {
  const logger = createLogger({ level: config.logLevel });
  if (config.moduleIsDevDefault) {
    logger.warn(
      { module: config.modulePath },
      'RXSIGN_MODULE is not set: using the SoftHSM2 module (a development default)',
    );
  }
  return startAgent({ config, logger, ...(listenPort === undefined ? {} : { listenPort }) });
}

export async function runServe(argv: string[], io: Io): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        config: { type: 'string' },
        module: { type: 'string' },
        token: { type: 'string' },
        ssb: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.out(SERVE_HELP);
      return 0;
    }
    const base = resolveConfig(values.config === undefined ? {} : { file: values.config }).config;
    const config: Config = {
      ...base,
      ...(values.module ? { modulePath: values.module, moduleIsDevDefault: false } : {}),
      ...(values.token ? { tokenLabel: values.token } : {}),
      ...(values.ssb ? { ssbUrl: values.ssb } : {}),
    };
    const server = await start(config, values.port === undefined ? undefined : Number(values.port));
    io.out(
      `rxsign agent listening on ${server.url} and [::1] (Spine Security Broker: ${config.ssbUrl})
  key and page link in ${server.runtimeDir}; open the agent page with: rxsign open`,
    );
    await untilStopped();
    const watchdog = shutdownWatchdog(io);
    await server.close();
    clearTimeout(watchdog);
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
}

export async function runDemo(argv: string[], io: Io): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'sim-port': { type: 'string' },
        config: { type: 'string' },
        'cis2-port': { type: 'string' },
        login: { type: 'boolean', default: false },
        'no-cm': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.out(DEMO_HELP);
      return 0;
    }
    const base = resolveConfig(values.config === undefined ? {} : { file: values.config }).config;
    if (!base.softhsmConf) {
      io.err(
        'rxsign: SOFTHSM2_CONF is not set: run `npm run demo` (or export SOFTHSM2_CONF=$(node softhsm/setup.mjs))',
      );
      return 2;
    }
    const dir = dirname(base.softhsmConf);
    const pki = join(dir, 'pki');
    const certs = ['root.pem', 'auth-ca.pem', 'sign-ca.pem'].map((f) =>
      parseCertificate(pemToDer(readFileSync(join(pki, f), 'utf8'))),
    );
    const simPort = Number(values['sim-port'] ?? DEFAULT_SIM_PORT);
    const users = loadUsersFile(join(dir, 'users.json'));
    const trust = trustFromCertificates(certs);
    const crls = loadCrlDir(join(pki, 'crl'));
    const sim = await startSpineSim({
      port: simPort,
      users,
      trust,
      crls,
      logger: createLogger({ level: base.logLevel, name: 'spine-sim' }),
    });
    let agentUrl = `http://127.0.0.1:${values.port ?? base.port}`;
    const cis2 = await startCis2Sim({
      port: values['cis2-port'] === undefined ? simPort + 1 : Number(values['cis2-port']),
      users,
      trust,
      crls,
      clients: loadClientsFile(cis2ClientsJson()),
      agentUrl: () => agentUrl,
      logger: createLogger({ level: base.logLevel, name: 'cis2-sim' }),
    });
    const config: Config = {
      ...base,
      // The CIS2 simulator's login page asks the agent for card assertions from its own origin, and the
      // Credential Management demo page (examples/cm-page, docs/cm.md) signs through the CM drop-in.
      allowedOrigins: [...new Set([...base.allowedOrigins, cis2.url, CM_DEMO_ORIGIN])],
      trustDir: base.trustDir ?? join(pki, 'ca'),
      crlDir: base.crlDir ?? join(pki, 'crl'),
      ssbUrl: sim.url,
      tokenLabel: base.tokenLabel ?? 'prescriber',
      moduleIsDevDefault: false,
      cm: { ...base.cm, enabled: values['no-cm'] !== true },
    };
    const server = await start(config, values.port === undefined ? undefined : Number(values.port));
    agentUrl = server.url;
    io.out(`rxsign demo
  agent:            ${server.url}/   (open its page with: rxsign open — card, PIN, roles, approvals)
  runtime folder:   ${server.runtimeDir}   (api-key, open.html)
  Spine simulator:  ${sim.url}
  CIS2 simulator:   ${cis2.url}   issuer ${cis2.issuer}
  card:             "${config.tokenLabel ?? ''}" (SoftHSM; its fixture PIN is in softhsm/cards.json)
  CM drop-in:       ${server.cm ? `${server.cm.url}/PRS/GetPortNumber   (demo page: node examples/cm-page/serve.mjs, then open ${CM_DEMO_ORIGIN}/)` : 'off'}
try:  RXSIGN_PIN=<pin> npx rxsign login   then   npx rxsign ticket   and   npx rxsign status
Ctrl-C stops the agent and the simulators.`);
    if (values.login) {
      const cards = JSON.parse(readFileSync(cardsJson(), 'utf8')) as {
        cards: { label: string; pin: string }[];
      };
      const pin = cards.cards.find((c) => c.label === config.tokenLabel)?.pin;
      if (pin) {
        const status = await server.agent.login(pin);
        io.out(
          `logged in: ${status.name ?? ''} (${status.uid ?? ''}), role ${status.selectedRole?.id ?? 'not selected'}`,
        );
      }
    }
    await untilStopped();
    const watchdog = shutdownWatchdog(io);
    await server.close();
    await cis2.close();
    await sim.close();
    clearTimeout(watchdog);
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
}
