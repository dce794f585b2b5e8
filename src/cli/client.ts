/**
 * Commands that talk to the running agent over its local HTTP service (the Ticket API):
 *   rxsign login [--role ID] [--agent URL] [--json]     PIN from RXSIGN_PIN or a prompt
 *   rxsign ticket [--wait SECONDS | --no-auth] [--new] [--agent URL] [--json]
 *   rxsign logout [--agent URL]
 *   rxsign status [--agent URL] [--json]
 *   rxsign health [--agent URL]                         exit 0 when the agent answers GET /api/v1/status
 * Each takes --config FILE (the agent's address comes from the same configuration as `rxsign serve`).
 */
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config.js';
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
};

/** An RFC 9457 problem (docs/errors.md). */
interface Failure {
  code?: string;
  title?: string;
  ticketApi?: { name: string; value: string };
}

async function call(
  io: Io,
  base: string,
  path: string,
  body?: unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; code: number }> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
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
  command: 'login' | 'ticket' | 'logout' | 'status' | 'health',
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
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      io.out(HELP[command] ?? '');
      return 0;
    }
    const { config } = resolveConfig(values.config === undefined ? {} : { file: values.config });
    const base =
      values.agent ??
      `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
    if (command === 'login') {
      const pin = await readPin();
      if (!pin) {
        io.err('rxsign: no PIN: set RXSIGN_PIN or run on a terminal to be prompted');
        return 2;
      }
      const r = await call(io, base, '/api/v1/login', {
        pin,
        ...(values.role ? { roleId: values.role } : {}),
      });
      if (!r.ok) {
        return r.code;
      }
      printStatus(io, r.value, values.json);
      return 0;
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
        base,
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
      const r = await call(io, base, '/api/v1/logout', {});
      if (r.ok) {
        io.out('logged out');
      }
      return r.ok ? 0 : r.code;
    }
    if (command === 'health') {
      const r = await call(io, base, '/api/v1/status');
      if (r.ok && values.json) {
        json(io, r.value);
      } else if (r.ok) {
        io.out('ok');
      }
      return r.ok ? 0 : 1;
    }
    const r = await call(io, base, '/ticket-api/status');
    if (!r.ok) {
      return r.code;
    }
    printStatus(io, r.value, values.json);
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
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
