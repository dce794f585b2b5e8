// Card polling (src/pkcs11/card-poll.ts) against a fake host: one test per rule of the file's header. The
// same rules run against SoftHSM in test/integration/pkcs11/card-events.test.ts.
import { describe, expect, test } from 'vitest';
import { CardPoller, mustReinitialise, type PollHost } from '../../src/pkcs11/card-poll.js';
import type { OpenToken } from '../../src/pkcs11/lanes.js';
import type { SlotInfo, TokenInfo } from '../../src/pkcs11/types.js';
import { token } from './fixtures.js';

const CKS_RW_USER_FUNCTIONS = 3;
const CKS_RW_PUBLIC_SESSION = 2;

/** An open token whose session reports `state`, or throws (a vanished session) when `state` is undefined. */
function open(serial: string, loggedIn: boolean, state: number | undefined): OpenToken {
  const session = {
    handle: Buffer.alloc(0),
    lib: {
      C_GetSessionInfo: () => {
        if (state === undefined) {
          throw new Error('CKR_SESSION_HANDLE_INVALID');
        }
        return { state };
      },
    },
  };
  return { info: token(serial), loggedIn, session } as unknown as OpenToken;
}

/** A host whose slots hold `present`; records drops and restarts. */
class FakeHost implements PollHost {
  present: TokenInfo[] = [];
  unreadable = false;
  scanFails = false;
  readonly opens = new Map<string, OpenToken>();
  readonly calls: string[] = [];

  openTokens(): readonly OpenToken[] {
    return [...this.opens.values()];
  }

  scan(): { slots: SlotInfo[]; unreadable: boolean } {
    if (this.scanFails) {
      throw new Error('CKR_GENERAL_ERROR');
    }
    const slots = this.present.map((t) => ({
      slotId: t.slotId,
      description: 'slot',
      manufacturer: 'SoftHSM project',
      tokenPresent: true,
      removableDevice: false,
      hardwareSlot: false,
      token: t,
    }));
    return { slots, unreadable: this.unreadable };
  }

  drop(serial: string): void {
    this.calls.push(`drop:${serial}`);
    this.opens.delete(serial);
  }

  restart(): void {
    this.calls.push('restart');
    this.opens.clear();
  }
}

/** A poller started on a host whose slots hold `present`, with these tokens open. */
function started(
  present: TokenInfo[],
  ...opens: OpenToken[]
): { host: FakeHost; poller: CardPoller } {
  const host = new FakeHost();
  host.present = present;
  for (const o of opens) {
    host.opens.set(o.info.serial, o);
  }
  const poller = new CardPoller(host);
  poller.start();
  return { host, poller };
}

describe('mustReinitialise', () => {
  test('a failure that asked for it re-initialises, whatever else', () => {
    expect(mustReinitialise({ asked: true, lostAway: 0, anyLogin: true })).toBe(true);
  });

  test('a token lost with an error and still away re-initialises while no card is logged in', () => {
    expect(mustReinitialise({ asked: false, lostAway: 1, anyLogin: false })).toBe(true);
  });

  test("never at the cost of another card's live login", () => {
    expect(mustReinitialise({ asked: false, lostAway: 1, anyLogin: true })).toBe(false);
  });

  test('nothing lost, nothing asked: no re-initialise', () => {
    expect(mustReinitialise({ asked: false, lostAway: 0, anyLogin: false })).toBe(false);
  });
});

describe('CardPoller', () => {
  test('the cards present when the module is loaded are the starting point: no event for them', () => {
    const { poller } = started([token('1')]);
    expect(poller.poll()).toEqual([]);
  });

  test("a removed token's sessions and login are dropped", () => {
    const { host, poller } = started([token('1')], open('1', true, CKS_RW_USER_FUNCTIONS));
    host.present = [];
    expect(poller.poll()).toEqual([{ type: 'removed', token: { label: 'card-1', serial: '1' } }]);
    expect(host.calls).toEqual(['drop:1']);
  });

  test('a token whose session vanished while the token stayed has lost its login: dropped, logged-out', () => {
    const { host, poller } = started(
      [token('1'), token('2')],
      open('1', true, undefined),
      open('2', true, CKS_RW_USER_FUNCTIONS),
    );
    expect(poller.poll()).toEqual([
      { type: 'logged-out', token: { label: 'card-1', serial: '1' } },
    ]);
    expect(host.calls).toEqual(['drop:1']);
  });

  test('a session that reports no login (logged out elsewhere) is not a lost session', () => {
    const { host, poller } = started([token('1')], open('1', false, CKS_RW_PUBLIC_SESSION));
    expect(poller.poll()).toEqual([]);
    expect(host.calls).toEqual([]);
  });

  test('a card lost with an error re-initialises the module at the next poll; each known login it ends is reported', () => {
    const { host, poller } = started(
      [token('1'), token('2')],
      open('1', true, CKS_RW_USER_FUNCTIONS),
      open('2', true, CKS_RW_USER_FUNCTIONS),
    );
    poller.lose('1');
    host.present = [token('2')];
    expect(poller.poll()).toEqual([
      { type: 'logged-out', token: { label: 'card-1', serial: '1' } },
      { type: 'logged-out', token: { label: 'card-2', serial: '2' } },
      { type: 'removed', token: { label: 'card-1', serial: '1' } },
    ]);
    expect(host.calls).toEqual(['restart', 'drop:1']);
  });

  test('while a lost token stays away the module is re-initialised at every poll, but not beside a live login', () => {
    const { host, poller } = started([token('1')]);
    poller.lose('1');
    host.present = [];
    poller.poll(); // asked for: restart
    poller.poll(); // lost and away, no login: restart
    host.opens.set('2', open('2', true, CKS_RW_USER_FUNCTIONS));
    poller.poll(); // another card is logged in: no restart
    expect(host.calls.filter((c) => c === 'restart')).toHaveLength(2);
  });

  test('the lost token is served again when it returns: inserted, and no more re-initialising', () => {
    const { host, poller } = started([token('1')]);
    poller.lose('1');
    host.present = [];
    poller.poll();
    host.present = [token('1')];
    expect(poller.poll()).toEqual([{ type: 'inserted', token: token('1') }]);
    host.calls.length = 0;
    expect(poller.poll()).toEqual([]);
    expect(host.calls).toEqual([]);
  });

  test('a scan that cannot read a slot makes the next poll re-initialise the module', () => {
    const { host, poller } = started([token('1')]);
    host.present = [];
    host.unreadable = true;
    expect(poller.poll()).toEqual([{ type: 'removed', token: { label: 'card-1', serial: '1' } }]);
    expect(host.calls).not.toContain('restart');
    host.unreadable = false;
    poller.poll();
    expect(host.calls).toContain('restart');
  });

  test('a scan that fails reports every known token removed and re-initialises at the next poll', () => {
    const { host, poller } = started([token('1')]);
    host.scanFails = true;
    expect(poller.poll()).toEqual([{ type: 'removed', token: { label: 'card-1', serial: '1' } }]);
    host.scanFails = false;
    expect(poller.poll()).toEqual([{ type: 'inserted', token: token('1') }]);
    expect(host.calls).toEqual(['drop:1', 'restart']);
  });
});
