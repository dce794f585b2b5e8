// Card watching (src/pkcs11/card-watch.ts): a pure function from the known and the present tokens to the
// card events; one test per rule of the file's header, plus a property over random known/present sets.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { watchCards } from '../../src/pkcs11/card-watch.js';
import type { TokenInfo } from '../../src/pkcs11/types.js';
import { token } from './fixtures.js';

const bySerial = (...tokens: TokenInfo[]) => new Map(tokens.map((t) => [t.serial, t]));

describe('watchCards', () => {
  test('a known token that is not present is removed (label and serial only) and its sessions dropped', () => {
    const r = watchCards(bySerial(token('1')), bySerial(), false);
    expect(r.events).toEqual([{ type: 'removed', token: { label: 'card-1', serial: '1' } }]);
    expect(r.removed).toEqual(['1']);
    expect(r.lost).toEqual([]);
  });

  test('a present token that was not known is inserted with its full info', () => {
    const t = token('2');
    expect(watchCards(bySerial(), bySerial(t), false)).toEqual({
      events: [{ type: 'inserted', token: t }],
      removed: [],
      lost: [],
    });
  });

  test('a token still present is reported neither way, even when the module moved it to another slot', () => {
    const r = watchCards(bySerial(token('1', 'a', '00')), bySerial(token('1', 'a', '07')), false);
    expect(r.events).toEqual([]);
    expect(r.removed).toEqual([]);
  });

  test('tokens are compared by serial, not label: a new card with the same label is a removal and an insertion', () => {
    const r = watchCards(
      bySerial(token('1', 'prescriber')),
      bySerial(token('9', 'prescriber')),
      false,
    );
    expect(r.events.map((e) => [e.type, e.token.serial])).toEqual([
      ['removed', '1'],
      ['inserted', '9'],
    ]);
  });

  test('after an unreadable scan the removed tokens are also lost (the module must be re-initialised)', () => {
    const r = watchCards(bySerial(token('1'), token('2')), bySerial(token('2')), true);
    expect(r.removed).toEqual(['1']);
    expect(r.lost).toEqual(['1']);
  });

  test('property: events are exactly known − present (removed) then present − known (inserted)', () => {
    const serials = fc.uniqueArray(fc.integer({ min: 0, max: 20 }).map(String), { maxLength: 10 });
    fc.assert(
      fc.property(serials, serials, fc.boolean(), (k, p, unreadable) => {
        const r = watchCards(
          bySerial(...k.map((s) => token(s))),
          bySerial(...p.map((s) => token(s))),
          unreadable,
        );
        const gone = k.filter((s) => !p.includes(s));
        const came = p.filter((s) => !k.includes(s));
        expect(r.events.map((e) => `${e.type}:${e.token.serial}`)).toEqual([
          ...gone.map((s) => `removed:${s}`),
          ...came.map((s) => `inserted:${s}`),
        ]);
        expect(r.removed).toEqual(gone);
        expect(r.lost).toEqual(unreadable ? gone : []);
      }),
    );
  });
});
