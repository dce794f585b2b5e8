/**
 * Distinguished names as RFC 4514-style strings, and the key used to match an issuer to a subject.
 *
 * Rules:
 * - RFC 4514 §2.1: the RDNs are written last-to-first (most specific first), joined by ',';
 * - RFC 4514 §2.4: `,` `+` `"` `\` `<` `>` `;` and leading `#`/space, trailing space are escaped;
 * - RFC 5280 §7.1 (simplified): names match when their DER is equal, or when the strings are equal after
 *   case folding and whitespace collapsing (the comparison used by chain building).
 */
import type { RelativeDistinguishedNames } from 'pkijs';

const SHORT: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.9': 'STREET',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GN',
  '2.5.4.12': 'T',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

function escape(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

function valueText(value: unknown): string {
  const block = (value as { valueBlock?: { value?: unknown; valueHexView?: Uint8Array } })
    .valueBlock;
  if (typeof block?.value === 'string') {
    return block.value;
  }
  const hex = block?.valueHexView;
  return hex instanceof Uint8Array ? `#${Buffer.from(hex).toString('hex')}` : '';
}

export interface NameParts {
  readonly text: string;
  readonly cn: string | undefined;
  readonly matchKey: string;
}

export function describeName(name: RelativeDistinguishedNames): NameParts {
  const parts: string[] = [];
  let cn: string | undefined;
  for (const tv of name.typesAndValues) {
    const v = valueText(tv.value);
    if (tv.type === '2.5.4.3' && cn === undefined) {
      cn = v;
    }
    parts.push(`${SHORT[tv.type] ?? tv.type}=${escape(v)}`);
  }
  const text = parts.reverse().join(',');
  return { text, cn, matchKey: text.toLowerCase().replace(/\s+/g, ' ') };
}
