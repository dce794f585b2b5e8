/**
 * Signing times. Rules:
 * - HL7 v3 `author/time/@value` is a TS `YYYYMMDDHHmmss` (optional fraction, optional ±HHMM offset; none =
 *   UTC, as EPS converts it); anything else, or an impossible date, is invalid;
 * - FHIR `Signature.when` is ISO 8601 with an offset (isoToHl7Timestamp's grammar).
 */
import { isoToHl7Timestamp } from '../prescription/index.js';

const TS = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,4})?(?:([+-])(\d{2})(\d{2}))?$/;

/**
 * @example
 * ```ts
 * hl7Time('20210726120522')?.toISOString(); // '2021-07-26T12:05:22.000Z'
 * ```
 */
export function hl7Time(value: string): Date | undefined {
  const m = TS.exec(value);
  if (m === null) {
    return undefined;
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  const offset =
    m[7] === undefined ? 0 : (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return new Date(utc - offset * 60_000);
}

/**
 * @example
 * ```ts
 * isoTime('2021-09-03T13:31:02+00:00')?.toISOString(); // '2021-09-03T13:31:02.000Z'
 * ```
 */
export function isoTime(value: string): Date | undefined {
  try {
    return hl7Time(isoToHl7Timestamp(value));
  } catch {
    return undefined;
  }
}
