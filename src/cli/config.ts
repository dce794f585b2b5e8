/**
 * `rxsign config check [--config FILE] [--json]`: the effective configuration (defaults, the file, the
 * environment), secrets masked, and where each value came from. Exit 0 when valid, 2 with the key, file and
 * line named when not.
 */
import { parseArgs } from 'node:util';
import { defaultConfigFile, describeConfig, resolveConfig, type Origin } from '../config.js';
import { json, reportError, type Io } from './output.js';

export const CONFIG_HELP = `Usage: rxsign config check [--config FILE] [--json]

Read the configuration as \`rxsign serve\` would — defaults, then the file (--config FILE, else
$XDG_CONFIG_HOME/rxsign/config.yaml when it exists), then RXSIGN_* environment variables — and print every
setting with its value (secrets masked) and its source. Exit 2 naming the key, file and line of a bad value.
`;

function originText(o: Origin): string {
  switch (o.source) {
    case 'default':
      return 'default';
    case 'env':
      return `env ${o.env}`;
    case 'file':
      return `file ${o.file}:${o.line}`;
  }
}

export async function runConfig(argv: string[], io: Io): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.out(CONFIG_HELP);
      return 0;
    }
    if (positionals.length !== 1 || positionals[0] !== 'check') {
      io.err('rxsign: usage: rxsign config check [--config FILE] [--json]');
      return 2;
    }
    const resolved = resolveConfig(values.config === undefined ? {} : { file: values.config });
    const settings = describeConfig(resolved);
    if (values.json) {
      json(io, {
        file: resolved.file ?? null,
        defaultFile: defaultConfigFile(),
        settings: settings.map((s) => ({
          name: s.name,
          env: s.env,
          fileKey: s.file ?? null,
          value: s.value ?? null,
          secret: s.secret,
          origin: s.origin,
        })),
      });
      return 0;
    }
    const lines = [
      `configuration file: ${resolved.file ?? `none (${defaultConfigFile()} does not exist)`}`,
    ];
    const width = Math.max(...settings.map((s) => (s.file ?? s.env).length));
    for (const s of settings) {
      const value = s.value === undefined ? '(unset)' : JSON.stringify(s.value);
      lines.push(`  ${(s.file ?? s.env).padEnd(width)}  ${value}  [${originText(s.origin)}]`);
    }
    io.out(lines.join('\n'));
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
}
