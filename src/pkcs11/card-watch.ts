/**
 * Card watching as a pure function: from the tokens the poller knew and the tokens present now, the card
 * events to report. card-poll.ts scans the slots (I/O) and applies the result (drops sessions); this file only
 * decides, so that every rule below is unit-tested without a card (test/pkcs11/card-watch.test.ts).
 *
 * Rules:
 * - tokens are compared by serial (a label may repeat; SoftHSM renumbers slots, so slot ids mean nothing);
 * - a known token that is not present now is `removed` (its sessions must be dropped);
 * - a present token that was not known is `inserted`, with its full info;
 * - a token that is still present is reported neither way, whatever its slot;
 * - when the scan could not read the slots (`unreadable`), the removed tokens are also `lost`: the module must
 *   be re-initialised before they can be seen again;
 * - removals come before insertions, each in the order of its map.
 */
import type { CardEvent, TokenInfo } from './types.js';

/** What one poll changes. */
export interface CardWatchResult {
  readonly events: readonly CardEvent[];
  /** Serials whose sessions and login must be dropped. */
  readonly removed: readonly string[];
  /** Serials that vanished with an unreadable scan: re-initialise the module to see them again. */
  readonly lost: readonly string[];
}

/**
 * Compares the known tokens with the present ones (both by serial).
 *
 * @example
 * ```ts
 * const { events } = watchCards(new Map(), new Map([[t.serial, t]]), false);
 * // [{ type: 'inserted', token: t }]
 * ```
 */
export function watchCards(
  known: ReadonlyMap<string, TokenInfo>,
  present: ReadonlyMap<string, TokenInfo>,
  unreadable: boolean,
): CardWatchResult {
  const events: CardEvent[] = [];
  const removed: string[] = [];
  for (const [serial, info] of known) {
    if (!present.has(serial)) {
      removed.push(serial);
      events.push({ type: 'removed', token: { label: info.label, serial } });
    }
  }
  for (const [serial, info] of present) {
    if (!known.has(serial)) {
      events.push({ type: 'inserted', token: info });
    }
  }
  return { events, removed, lost: unreadable ? [...removed] : [] };
}
