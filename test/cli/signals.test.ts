// untilStopped: the one wait of rxsign serve, demo and spine-sim.
import { expect, test } from 'vitest';
import { untilStopped } from '../../src/cli/signals.js';

test('the wait listens for SIGINT and SIGTERM, and an abort ends it with neither listener left behind', async () => {
  const count = (): number[] => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  const before = count();
  const ac = new AbortController();
  const waiting = untilStopped(ac.signal);
  expect(count()).toEqual(before.map((n) => n + 1));
  ac.abort();
  await waiting;
  expect(count()).toEqual(before);
  await untilStopped(ac.signal); // already aborted: returns at once
  expect(count()).toEqual(before);
});
