/**
 * The signing time EPS hashes as `author/time` (docs/protocol/eps-signing.md §1.7–1.8): the `$prepare` timestamp (ISO 8601
 * with an offset) in HL7 v3 TS form, UTC `YYYYMMDDHHmmss`.
 */
import { prescriptionError } from './errors.js';

/**
 * Converts an ISO 8601 date-time with an offset (`2024-12-09T11:50:04+00:00`, `…Z`, optional fraction)
 * to the HL7 v3 TS EPS hashes: UTC `YYYYMMDDHHmmss`, fraction truncated (EPS: moment.utc().format()).
 *
 * @example
 * ```ts
 * isoToHl7Timestamp('2024-12-09T12:50:04+01:00'); // '20241209115004'
 * ```
 */
export function isoToHl7Timestamp(iso: string): string {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/.exec(
      iso,
    );
  if (m === null) {
    throw prescriptionError('ERR_PRESCRIPTION_TIMESTAMP_INVALID');
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const sign = m[8] === '-' ? -1 : 1;
  const offsetHours = Number(m[9] ?? '0');
  const offsetMinutes = Number(m[10] ?? '0');
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw prescriptionError('ERR_PRESCRIPTION_TIMESTAMP_INVALID');
  }
  const utc = new Date(local - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return (
    pad(utc.getUTCFullYear(), 4) +
    pad(utc.getUTCMonth() + 1) +
    pad(utc.getUTCDate()) +
    pad(utc.getUTCHours()) +
    pad(utc.getUTCMinutes()) +
    pad(utc.getUTCSeconds())
  );
}
