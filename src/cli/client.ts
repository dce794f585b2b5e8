/**
 * Commands that talk to the running agent over its local HTTP service (the Ticket API):
 *   rxsign login [--role ID] [--agent URL] [--json]     PIN from RXSIGN_PIN or a prompt
 *   rxsign ticket [--wait SECONDS | --no-auth] [--new] [--agent URL] [--json]
 *   rxsign logout [--agent URL]
 *   rxsign status [--agent URL] [--json]
 *   rxsign health [--agent URL]                         exit 0 when the agent answers GET /api/v1/status
 *   rxsign open [--print] [--agent URL]                 the agent page, with its session secret
 * Each takes --config FILE (the agent's address comes from the same configuration as `rxsign serve`).
 *
 * Before anything is sent (and so before a PIN is), the CLI authenticates the agent (docs/security.md
 * "Port squatting"): it reads the per-start key from the runtime folder after checking the folder (ours, 0700,
 * not a symlink) and the file (ours, 0600), sends a random challenge to /api/v1/hello and requires the answer
 * HMAC(key, "agent" ‖ challenge). A program squatting on the port does not know the key: the CLI stops with
 * ERR_AGENT_NOT_AUTHENTIC and the PIN never leaves it. Every request then carries `Authorization: Bearer`.
 */
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { helloProof } from '../api/index.js';
import { resolveConfig } from '../config.js';
import { checkPrivateDir, MISSING, readSecretFile } from '../runtime.js';
import { json, reportError, type Io } from './output.js';
import { readPin } from './pin.js';

const HELP: Record<string, string> = {
  login: `Usage: rxsign login [--role ID] [--agent URL] [--json]

Log in to the Spine through the running agent with the inserted card. The PIN comes from RXSIGN_PIN or a
prompt (never the command line). With several roles, --role picks one (else the status lists them).`,
  ticket: `Usage: rxsign ticket [--wait SECONDS] [--no-auth] [--new] [--agent URL] [--json]

Print the session ticket (Ticket API getTicket). --no-auth never waits (getTicketNoAuth); --wait waits up to
SECONDS for a login (default 0); --new forces a fresh ticket (getNewTicket).`,
  logout: `Usage: rxsign logout [--agent URL]

Destroy the ticket and log out of the Spine (Ticket API destroyTicket).`,
  health: `Usage: rxsign health [--agent URL] [--config FILE]

Exit 0 when the agent answers GET /api/v1/status (for container health checks and scripts), else 1.`,
  status: `Usage: rxsign status [--agent URL] [--json]

Show the card and session: user, roles, selected role, time left.`,
  open: `Usage: rxsign open [--print] [--agent URL]

Open the agent page in your browser (via open.html in the agent's runtime folder, so that the page's secret
never appears on a command line). --print prints the page's link instead (it holds a secret: do not share it).`,
};

/** The agent, authenticated: its base URL and this start's key. */
interface Session {
  readonly base: string;
  readonly key: string;
  readonly runtimeDir: string;
}

const NOT_AUTHENTIC =
  'the program answering there is not the rxsign agent (it cannot prove it holds this start’s key from the runtime folder); nothing was sent to it [ERR_AGENT_NOT_AUTHENTIC]';

/**
 * Reads the key (checking the folder and the file) and proves the agent at `base` holds it. Returns undefined
 * after printing one line (exit 2) when the agent is not running or not authentic.
 */
async function authenticate(
  io: Io,
  base: string,
  runtimeDir: string,
): Promise<Session | undefined> {
  let key: string;
  try {
    checkPrivateDir(runtimeDir);
    key = readSecretFile(join(runtimeDir, 'api-key'));
  } catch (err) {
    const reason = (err as { detail?: { reason?: unknown } }).detail?.reason;
    if (reason === MISSING) {
      io.err(
        `rxsign: the agent is not running (no key in ${runtimeDir}; start it with rxsign serve, or npm run demo)`,
      );
    } else {
      reportError(io, err);
    }
    return undefined;
  }
  const challenge = randomBytes(32).toString('base64url');
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1/hello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      redirect: 'manual',
      body: JSON.stringify({ challenge, proof: helloProof(key, 'client', challenge) }),
    });
  } catch {
    io.err(
      `rxsign: the agent is not running at ${base} (start it with rxsign serve, or npm run demo)`,
    );
    return undefined;
  }
  const answer = (await res.json().catch(() => ({}))) as { proof?: unknown };
  const want = Buffer.from(helloProof(key, 'agent', challenge));
  const got = Buffer.from(typeof answer.proof === 'string' ? answer.proof : '');
  if (!res.ok || got.length !== want.length || !timingSafeEqual(got, want)) {
    io.err(`rxsign: at ${base}: ${NOT_AUTHENTIC}`);
    return undefined;
  }
  return { base, key, runtimeDir };
}

/** An RFC 9457 problem (docs/errors.md). */
interface Failure {
  code?: string;
  title?: string;
  ticketApi?: { name: string; value: string };
}

async function call(
  io: Io,
  session: Session,
  path: string,
  body?: unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; code: number }> {
  const base = session.base;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.key}` },
      redirect: 'manual',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    io.err(
      `rxsign: the agent is not running at ${base} (start it with rxsign serve, or npm run demo)`,
    );
    return { ok: false, code: 2 };
  }
  const value = (await res.json().catch(() => ({}))) as unknown;
  if (!res.ok) {
    const f = value as Failure;
    io.err(
      `rxsign: ${f.title ?? 'request failed'} [${f.code ?? res.status}${f.ticketApi ? ` / ${f.ticketApi.name} ${f.ticketApi.value}` : ''}]`,
    );
    return { ok: false, code: 1 };
  }
  return { ok: true, value };
}

export async function runClient(
  command: 'login' | 'ticket' | 'logout' | 'status' | 'health' | 'open',
  argv: string[],
  io: Io,
): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        agent: { type: 'string' },
        config: { type: 'string' },
        role: { type: 'string' },
        wait: { type: 'string' },
        'no-auth': { type: 'boolean', default: false },
        new: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        print: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      io.out(HELP[command] ?? '');
      return 0;
    }
    const { config } = resolveConfig(values.config === undefined ? {} : { file: values.config });
    const host = config.host === '::1' ? '[::1]' : config.host;
    const base =
      values.agent ??
      `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${config.port}`;
    if (command === 'login') {
      const pin = await readPin();
      if (!pin) {
        io.err('rxsign: no PIN: set RXSIGN_PIN or run on a terminal to be prompted');
        return 2;
      }
      // The agent proves itself before the PIN leaves this process.
      const session = await authenticate(io, base, config.runtimeDir);
      if (!session) {
        return 2;
      }
      const r = await call(io, session, '/api/v1/login', {
        pin,
        ...(values.role ? { roleId: values.role } : {}),
      });
      if (!r.ok) {
        return r.code;
      }
      printStatus(io, r.value, values.json);
      return 0;
    }
    const session = await authenticate(io, base, config.runtimeDir);
    if (!session) {
      return 2;
    }
    if (command === 'open') {
      return openPage(io, session, values.print);
    }
    if (command === 'ticket') {
      const wait = Number(values.wait ?? '0');
      if (!Number.isFinite(wait) || wait < 0) {
        io.err('rxsign: --wait takes a number of seconds');
        return 2;
      }
      const path = values.new
        ? '/ticket-api/getNewTicket'
        : values['no-auth']
          ? '/ticket-api/getTicketNoAuth'
          : '/ticket-api/getTicket';
      const r = await call(
        io,
        session,
        path,
        values['no-auth'] ? {} : { timeoutMs: Math.round(wait * 1000) },
      );
      if (!r.ok) {
        return r.code;
      }
      const ticket = (r.value as { ticket: string }).ticket;
      if (values.json) {
        json(io, { ticket });
      } else {
        io.out(ticket);
      }
      return 0;
    }
    if (command === 'logout') {
      const r = await call(io, session, '/api/v1/logout', {});
      if (r.ok) {
        io.out('logged out');
      }
      return r.ok ? 0 : r.code;
    }
    if (command === 'health') {
      const r = await call(io, session, '/api/v1/status');
      if (r.ok && values.json) {
        json(io, r.value);
      } else if (r.ok) {
        io.out('ok');
      }
      return r.ok ? 0 : 1;
    }
    const r = await call(io, session, '/ticket-api/status');
    if (!r.ok) {
      return r.code;
    }
    printStatus(io, r.value, values.json);
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
}

/** Opens open.html (the page link) with xdg-open, or prints the link with --print. */
function openPage(io: Io, session: Session, print: boolean): number {
  const file = join(session.runtimeDir, 'open.html');
  if (print) {
    const m = /url=([^"]+)"/.exec(readFileSync(file, 'utf8'));
    io.out(m?.[1] ?? '');
    return m ? 0 : 1;
  }
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    io.out(`open file://${file} in your browser (or run rxsign open --print for the link)`);
    return 0;
  }
  const child = spawn('xdg-open', [file], { stdio: 'ignore', detached: true });
  child.on('error', () =>
    io.err(`rxsign: cannot run xdg-open: open file://${file} in your browser`),
  );
  child.unref();
  io.out(`opening the agent page (file://${file})`);
  return 0;
}

interface StatusView {
  state: string;
  card?: { label: string };
  uid?: string;
  name?: string;
  roles: { id: string; orgName: string; jobRole: string[] }[];
  selectedRole?: { id: string };
  timeLeftSeconds?: number;
}

function printStatus(io: Io, value: unknown, asJson: boolean): void {
  if (asJson) {
    json(io, value);
    return;
  }
  const s = value as StatusView;
  io.out(`state: ${s.state}${s.card ? `  card: ${s.card.label}` : ''}`);
  if (s.uid) {
    io.out(`user:  ${s.name ?? ''} (${s.uid})`);
  }
  for (const r of s.roles) {
    io.out(
      `${r.id === s.selectedRole?.id ? '* ' : '  '}role ${r.id}  ${r.orgName} — ${r.jobRole[2] ?? ''}`,
    );
  }
  if (s.timeLeftSeconds !== undefined) {
    io.out(`session time left: ${Math.round(s.timeLeftSeconds / 60)} min`);
  }
}
