// The user's answers (src/api/approvals.ts), with the per-signature PIN policy: the question is asked even of
// an origin always allowed (a remembered Deny answers at once), Allow needs the PIN, the PIN goes to the
// waiting request only (not the list, not the events, not the file), and a PIN for a question that does not
// ask for one is refused.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Approvals, type PendingApproval } from '../../src/api/approvals.js';

const ORIGIN = 'https://prescribing.example.nhs.uk';
const PIN = '11223344';
const what = { action: 'sign' as const, count: 1, as: 'Dr A Smith' };

function setup(): { approvals: Approvals; seen: string[]; stateDir: string } {
  const stateDir = mkdtempSync(join(tmpdir(), 'rxsign-approvals-'));
  const approvals = new Approvals({ stateDir, timeoutMs: 5_000 });
  const seen: string[] = [];
  approvals.on('pending', (e: unknown) => seen.push(JSON.stringify(e)));
  approvals.on('answered', (e: unknown) => seen.push(JSON.stringify(e)));
  return { approvals, seen, stateDir };
}

const pendingOf = (a: Approvals): PendingApproval => {
  const p = a.list().pending[0];
  if (p === undefined) {
    throw new Error('nothing pending');
  }
  return p;
};

describe('Approvals with the PIN', () => {
  test('Allow needs the PIN; the PIN reaches the waiting request only', async () => {
    const { approvals, seen, stateDir } = setup();
    const asked = approvals.ask(ORIGIN, { ...what, pin: true });
    const p = pendingOf(approvals);
    expect(p.pinRequired).toBe(true);
    expect(() => approvals.answer(p.id, 'once')).toThrow(
      expect.objectContaining({ code: 'ERR_APPROVAL_PIN_REQUIRED' }),
    );
    approvals.answer(p.id, 'always', PIN);
    expect(await asked).toEqual({ outcome: 'always', pin: PIN });
    const file = readFileSync(join(stateDir, 'approvals.json'), 'utf8');
    for (const text of [JSON.stringify(approvals.list()), seen.join('\n'), file]) {
      expect(text).not.toContain(PIN);
    }
    approvals.close();
  });

  test('an origin always allowed is still asked for the PIN; a remembered Deny answers at once', async () => {
    const { approvals } = setup();
    const first = approvals.ask(ORIGIN, { ...what, pin: true });
    approvals.answer(pendingOf(approvals).id, 'always', PIN);
    await first;
    expect(await approvals.request(ORIGIN, what)).toBe('always'); // no PIN asked: answered from memory
    const again = approvals.ask(ORIGIN, { ...what, pin: true });
    const p = pendingOf(approvals);
    approvals.answer(p.id, 'deny');
    expect(await again).toEqual({ outcome: 'deny' });
    expect(await approvals.ask(ORIGIN, { ...what, pin: true })).toEqual({ outcome: 'deny' });
    approvals.close();
  });

  test('a PIN for a question that does not ask for one is refused and not kept', async () => {
    const { approvals } = setup();
    const asked = approvals.request(ORIGIN, what);
    const p = pendingOf(approvals);
    expect(() => approvals.answer(p.id, 'once', PIN)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_REQUEST' }),
    );
    approvals.answer(p.id, 'once');
    expect(await asked).toBe('once');
    approvals.close();
  });

  test('Always allow answers the other waiting questions of the origin that need no PIN, not those that do', async () => {
    const { approvals } = setup();
    const withPin = approvals.ask(ORIGIN, { ...what, pin: true });
    const plain = approvals.ask(ORIGIN, what);
    const plainEntry = approvals.list().pending.find((e) => e.pinRequired !== true);
    const pinEntry = approvals.list().pending.find((e) => e.pinRequired === true);
    if (plainEntry === undefined || pinEntry === undefined) {
      throw new Error('both should wait');
    }
    approvals.answer(plainEntry.id, 'always');
    expect(await plain).toEqual({ outcome: 'always' });
    expect(approvals.list().pending.map((e) => e.id)).toEqual([pinEntry.id]);
    approvals.answer(pinEntry.id, 'once', PIN);
    expect(await withPin).toEqual({ outcome: 'once', pin: PIN });
    approvals.close();
  });
});
