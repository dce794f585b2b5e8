/**
 * `rxsign service install|uninstall [--dry-run]`: the systemd user unit (packaging/rxsign.service).
 *
 * install: writes the unit into `$XDG_CONFIG_HOME/systemd/user/rxsign.service` (0644) with `ExecStart` set to
 * this installation (node and bin/rxsign.js as absolute paths), then runs `systemctl --user daemon-reload` and
 * `systemctl --user enable --now rxsign.service` when systemctl is on PATH; otherwise prints them.
 * uninstall: `systemctl --user disable --now rxsign.service`, removes the unit, reloads.
 * --dry-run prints the unit's path, its text and the commands, and changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AGENT_NODE_FLAGS } from '../node-flags.js';
import type { Io } from './output.js';

export const SERVICE_HELP = `Usage: rxsign service install|uninstall [--dry-run]

install    write the systemd user unit to $XDG_CONFIG_HOME/systemd/user/rxsign.service (ExecStart: this
           installation), then systemctl --user daemon-reload and enable --now (printed when systemctl is absent)
uninstall  systemctl --user disable --now, remove the unit, daemon-reload
--dry-run  print what would be written and run; change nothing
`;

const UNIT = 'rxsign.service';

/** The folder of this installation (the one with package.json and packaging/). */
function installRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'packaging', UNIT)) && dirname(dir) !== dir) {
    dir = dirname(dir);
  }
  return dir;
}

/** The unit text with ExecStart pointing at this installation. */
export function unitText(root = installRoot(), node = process.execPath): string {
  const template = readFileSync(join(root, 'packaging', UNIT), 'utf8');
  const bin = join(root, 'bin', 'rxsign.js');
  const quote = (p: string): string =>
    /[\s"'\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p;
  return template.replace(
    /^ExecStart=.*$/m,
    `ExecStart=${quote(node)} ${AGENT_NODE_FLAGS.join(' ')} ${quote(bin)} serve`,
  );
}

export function unitPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user', UNIT);
}

function systemctl(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'systemctl'))) {
      return join(dir, 'systemctl');
    }
  }
  return undefined;
}

export async function runService(
  argv: string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(SERVICE_HELP);
    return 0;
  }
  const action = positionals[0];
  if (positionals.length !== 1 || (action !== 'install' && action !== 'uninstall')) {
    io.err('rxsign: usage: rxsign service install|uninstall [--dry-run]');
    return 2;
  }
  const path = unitPath(env);
  const commands =
    action === 'install'
      ? [
          ['--user', 'daemon-reload'],
          ['--user', 'enable', '--now', UNIT],
        ]
      : [
          ['--user', 'disable', '--now', UNIT],
          ['--user', 'daemon-reload'],
        ];
  const show = (c: string[]): string => `systemctl ${c.join(' ')}`;
  if (values['dry-run']) {
    if (action === 'install') {
      io.out(`would write ${path}:\n${unitText()}`);
      io.out(`would run:\n${commands.map((c) => `  ${show(c)}`).join('\n')}`);
    } else {
      io.out(
        `would run:\n  ${show(commands[0] ?? [])}\nwould remove ${path}\nwould run:\n  ${show(commands[1] ?? [])}`,
      );
    }
    return 0;
  }
  const ctl = systemctl(env);
  const run = (c: string[]): boolean => {
    if (!ctl) {
      return false;
    }
    try {
      execFileSync(ctl, c, { stdio: ['ignore', 'ignore', 'pipe'], env });
      return true;
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      io.err(`rxsign: ${show(c)} failed${stderr ? `: ${stderr}` : ''}`);
      return false;
    }
  };
  if (action === 'install') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unitText(), { mode: 0o644 });
    io.out(`wrote ${path}`);
  } else if (ctl) {
    run(commands[0] ?? []);
  }
  if (action === 'uninstall') {
    rmSync(path, { force: true });
    io.out(`removed ${path}`);
  }
  if (!ctl) {
    io.out(
      `systemctl is not available here; run:\n${commands.map((c) => `  ${show(c)}`).join('\n')}`,
    );
    return 0;
  }
  const rest = action === 'install' ? commands : commands.slice(1);
  let ok = true;
  for (const c of rest) {
    ok = run(c) && ok;
    if (!ok) {
      break;
    }
  }
  if (ok) {
    io.out(
      action === 'install'
        ? 'rxsign is running as a user service (systemctl --user status rxsign)'
        : 'rxsign user service removed',
    );
  }
  return ok ? 0 : 1;
}
