// What the simulator commands share (src/cli/simulator.ts), against a fake simulator: one test per rule of the
// file's header. The real commands run in test/cli/spine-sim.test.ts and test/cis2-sim/clients-and-cli.test.ts.
import { parseArgs } from 'node:util';
import { describe, expect, test } from 'vitest';
import type { Io } from '../../src/cli/output.js';
import {
  listenPort,
  runSimulator,
  SIMULATOR_OPTIONS,
  type Listen,
  type SimulatorCommand,
} from '../../src/cli/simulator.js';
import { configError } from '../../src/config.js';

function capture(): { io: Io; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out, err };
}

interface Fake {
  readonly listen: Listen;
  closed: boolean;
  close(): Promise<void>;
}

/** A simulator whose `--name` is required and whose start does what `start` says. */
function fake(start: (listen: Listen) => Promise<Fake> = async (listen) => server(listen)) {
  const cmd: SimulatorCommand<
    { port?: string; host?: string; help?: boolean; name?: string },
    Fake
  > = {
    name: 'fake-sim',
    usage: 'Usage: rxsign fake-sim --name N\n',
    defaultPort: 4321,
    parse: (args) =>
      parseArgs({
        args,
        options: { ...SIMULATOR_OPTIONS, name: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }).values,
    prepare: (values, listen) =>
      values.name === undefined ? '--name N is required' : () => start(listen),
    ready: (s) => `fake-sim listening on ${s.listen.host}:${s.listen.port}`,
  };
  return cmd;
}

function server(listen: Listen): Fake {
  return {
    listen,
    closed: false,
    async close() {
      this.closed = true;
    },
  };
}

describe('listenPort', () => {
  test('absent: the default; an integer from 0 to 65535: that port', () => {
    expect(listenPort(undefined, 8731)).toBe(8731);
    expect(listenPort('0', 8731)).toBe(0);
    expect(listenPort('65535', 8731)).toBe(65535);
  });

  test('anything else is not a port', () => {
    for (const bad of ['x', '-1', '65536', '1.5', 'NaN']) {
      expect(listenPort(bad, 8731)).toBeUndefined();
    }
  });
});

describe('runSimulator', () => {
  test('--help prints the usage and exits 0, before anything is checked', async () => {
    const c = capture();
    expect(await runSimulator(fake(), ['--help', '--port', 'x'], c.io)).toBe(0);
    expect(c.out).toEqual(['Usage: rxsign fake-sim --name N\n']);
    expect(c.err).toEqual([]);
  });

  test('bad arguments: one line, exit 2', async () => {
    const c = capture();
    expect(await runSimulator(fake(), ['--bogus'], c.io)).toBe(2);
    expect(c.err).toEqual(['rxsign fake-sim: bad arguments (see --help)']);
  });

  test('a bad port: one line, exit 2, before the command checks its own options', async () => {
    const c = capture();
    expect(await runSimulator(fake(), ['--port', '70000'], c.io)).toBe(2);
    expect(c.err).toEqual(['rxsign fake-sim: --port must be an integer from 0 to 65535']);
  });

  test("the command's own check: its message as one line, exit 2", async () => {
    const c = capture();
    expect(await runSimulator(fake(), [], c.io)).toBe(2);
    expect(c.err).toEqual(['rxsign fake-sim: --name N is required']);
  });

  test("a start-up error prints its table's message and the field at fault, never the value", async () => {
    const c = capture();
    const failing = fake(async () => {
      throw configError('ERR_CONFIG_INVALID', { detail: { field: 'users[0].uid: not a string' } });
    });
    expect(await runSimulator(failing, ['--name', 'a'], c.io)).toBe(2);
    expect(c.err).toEqual([
      'rxsign fake-sim: the configuration is not valid (users[0].uid: not a string)',
    ]);
  });

  test('an OS error prints only its code; an error with no code says it cannot start', async () => {
    const c = capture();
    const busy = fake(async () => {
      throw Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:4321'), {
        code: 'EADDRINUSE',
      });
    });
    expect(await runSimulator(busy, ['--name', 'a'], c.io)).toBe(2);
    const odd = fake(() => {
      throw new Error('secret detail');
    });
    expect(await runSimulator(odd, ['--name', 'a'], c.io)).toBe(2);
    expect(c.err).toEqual([
      'rxsign fake-sim: cannot start (EADDRINUSE)',
      'rxsign fake-sim: cannot start',
    ]);
  });

  test('listens on the default port and 127.0.0.1, prints where, and closes and exits 0 when stopped', async () => {
    const c = capture();
    const ac = new AbortController();
    let started: Fake | undefined;
    const cmd = fake(async (listen) => (started = server(listen)));
    const run = runSimulator(cmd, ['--name', 'a'], c.io, ac.signal);
    for (let i = 0; i < 100 && c.out.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(c.out).toEqual(['fake-sim listening on 127.0.0.1:4321']);
    expect(started?.closed).toBe(false);
    ac.abort();
    expect(await run).toBe(0);
    expect(started?.closed).toBe(true);
  });

  test('--port and --host are passed to the start', async () => {
    const c = capture();
    const ac = new AbortController();
    ac.abort();
    const args = ['--name', 'a', '--port', '0', '--host', '::1'];
    expect(await runSimulator(fake(), args, c.io, ac.signal)).toBe(0);
    expect(c.out).toEqual(['fake-sim listening on ::1:0']);
  });
});
