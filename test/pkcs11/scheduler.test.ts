// The worker's queue rules (src/pkcs11/scheduler.ts) against a fake driver whose pool completions the test
// releases by hand, so every interleaving is deterministic. The same rules run against SoftHSM in
// test/integration/pkcs11/sessions.test.ts.
import { describe, expect, test } from 'vitest';
import { Scheduler, type SignStarter } from '../../src/pkcs11/scheduler.js';

interface Req {
  readonly name: string;
  readonly failAtOnce?: boolean;
}

/** A driver with `seats` pool sessions plus this thread; records where each signature ran. */
class FakeDriver implements SignStarter<Req> {
  readonly ran: string[] = [];
  readonly onPool = new Map<string, (err: unknown, sig?: Uint8Array) => void>();
  seats: number;
  maxPoolSeen = 0;

  constructor(seats: number) {
    this.seats = seats;
  }

  get busy(): boolean {
    return this.onPool.size > 0;
  }

  trySign(r: Req, preferPool: boolean, done: (err: unknown, sig?: Uint8Array) => void): boolean {
    if (r.failAtOnce) {
      throw new Error(`refused ${r.name}`);
    }
    if (preferPool && this.onPool.size < this.seats) {
      this.ran.push(`pool:${r.name}`);
      this.onPool.set(r.name, done);
      this.maxPoolSeen = Math.max(this.maxPoolSeen, this.onPool.size);
      return true;
    }
    this.ran.push(`here:${r.name}`);
    done(undefined, Uint8Array.of(r.name.length));
    return true;
  }

  /** The pool finishes `name`. */
  finish(name: string, err?: unknown): void {
    const done = this.onPool.get(name);
    if (!done) {
      throw new Error(`${name} is not on the pool`);
    }
    this.onPool.delete(name);
    done(err, err === undefined ? Uint8Array.of(1) : undefined);
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await turn();
  }
}

function setup(seats = 1) {
  const driver = new FakeDriver(seats);
  const scheduler = new Scheduler<Req>(driver);
  const answers: string[] = [];
  const reply = (name: string) => (err: unknown) => {
    answers.push(err === undefined ? name : `${name}!`);
  };
  const sign = (name: string, extra: Partial<Req> = {}) =>
    scheduler.sign({ name, ...extra }, reply(name));
  const barrier = (name: string, log: string[] = answers) =>
    scheduler.barrier(() => {
      log.push(`run:${name}`);
      return name;
    }, reply(name));
  return { driver, scheduler, answers, sign, barrier };
}

describe('signatures', () => {
  test('a lone signature runs on the worker thread, never on the pool', async () => {
    const { driver, answers, sign } = setup(1);
    sign('a');
    await settle();
    expect(driver.ran).toEqual(['here:a']);
    expect(answers).toEqual(['a']);
  });

  test('a burst: the pool takes one while this thread signs the next, never more than the pool seats', async () => {
    const { driver, answers, sign } = setup(1);
    for (const n of ['a', 'b', 'c', 'd']) {
      sign(n);
    }
    await settle();
    // a to the pool (b waits behind it), b here; c cannot go to the pool (full) and runs here too, and so does d.
    expect(driver.ran).toEqual(['pool:a', 'here:b', 'here:c', 'here:d']);
    expect(driver.maxPoolSeen).toBe(1);
    driver.finish('a');
    await settle();
    expect(answers).toEqual(['b', 'c', 'd', 'a']);
  });

  test('with two pool seats a stream keeps both busy and this thread signs the rest', async () => {
    const { driver, sign } = setup(2);
    for (const n of ['a', 'b', 'c', 'd', 'e']) {
      sign(n);
    }
    await settle();
    expect(driver.ran.slice(0, 2)).toEqual(['pool:a', 'pool:b']);
    expect(driver.maxPoolSeen).toBe(2);
    expect(driver.ran.filter((r) => r.startsWith('here:'))).toEqual(['here:c', 'here:d', 'here:e']);
  });

  test('a failure known at once answers only that request', async () => {
    const { driver, answers, sign } = setup(1);
    sign('a');
    sign('b', { failAtOnce: true });
    sign('c');
    await settle();
    driver.finish('a');
    await settle();
    expect(answers).toEqual(['b!', 'c', 'a']);
  });

  test('every request is answered exactly once, including pool failures', async () => {
    const { driver, answers, sign } = setup(1);
    sign('a');
    sign('b');
    await settle();
    driver.finish('a', new Error('card gone'));
    await settle();
    expect(answers).toEqual(['b', 'a!']);
  });
});

describe('barriers (login, logout, certificates, polls, shutdown)', () => {
  test('a barrier waits for the signatures in flight and holds back the ones that arrive after it', async () => {
    const { driver, answers, sign, barrier } = setup(1);
    sign('a');
    sign('b');
    barrier('logout');
    sign('c');
    await settle();
    // a is on the pool, b was signed here; the logout waits for a; c waits for the logout.
    expect(driver.ran).toEqual(['pool:a', 'here:b']);
    expect(answers).toEqual(['b']);
    driver.finish('a');
    await settle();
    expect(answers).toEqual(['b', 'a', 'run:logout', 'logout', 'c']);
    expect(driver.ran).toEqual(['pool:a', 'here:b', 'here:c']);
  });

  test('a signature right before a barrier is not sent to the pool (nothing waits behind it to sign here)', async () => {
    const { driver, sign, barrier } = setup(1);
    sign('a');
    barrier('poll');
    await settle();
    expect(driver.ran).toEqual(['here:a']);
  });

  test('barriers run in arrival order, each alone', async () => {
    const { answers, barrier } = setup(1);
    barrier('login');
    barrier('certificates');
    barrier('shutdown');
    await settle();
    expect(answers).toEqual([
      'run:login',
      'login',
      'run:certificates',
      'certificates',
      'run:shutdown',
      'shutdown',
    ]);
  });

  test('a failing barrier answers with its error and the queue goes on', async () => {
    const { scheduler, answers, sign } = setup(1);
    scheduler.barrier(
      () => {
        throw new Error('wrong PIN');
      },
      (err) => answers.push(err === undefined ? 'login' : 'login!'),
    );
    sign('a');
    await settle();
    expect(answers).toEqual(['login!', 'a']);
  });
});
