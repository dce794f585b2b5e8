// The strict X.690 reader (src/cms/der-reader.ts): one negative test per encoding rule, and the values it
// decodes checked against openssl's view of the same bytes.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  DerError,
  MAX_CHILDREN,
  childrenOf,
  contentOf,
  definite,
  integerContent,
  oidOf,
  readElement,
  readWhole,
  smallInteger,
  timeOf,
} from '../../src/cms/der-reader.js';
import { tlv } from '../../src/cms/der.js';
import { openssl } from './fixtures.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const malformed = (f: () => unknown): void => {
  expect(f).toThrow(DerError);
};

describe('X.690 §8.1.3 lengths', () => {
  test('short and long definite forms give the content', () => {
    const short = readWhole(hex('04 03 616263'));
    expect(Buffer.from(contentOf(short)).toString()).toBe('abc');
    const long = readWhole(hex(`04 81 80 ${'00'.repeat(128)}`));
    expect(long.contentEnd - long.contentStart).toBe(128);
    const two = readWhole(hex(`04 82 0100 ${'00'.repeat(256)}`));
    expect(two.end).toBe(260);
  });

  test('X.690 §10.1 a long form for a length below 128 is not DER', () => {
    malformed(() => readWhole(hex('04 81 03 616263')));
  });

  test('X.690 §10.1 a long form with a leading zero octet is not DER', () => {
    malformed(() => readWhole(hex(`04 82 0080 ${'00'.repeat(128)}`)));
  });

  test('X.690 §8.1.3.5 (c) length octet 0xFF is reserved', () => {
    malformed(() => readWhole(hex('04 ff 00')));
  });

  test('a length of more than 4 octets (huge) is refused', () => {
    malformed(() => readWhole(hex('04 85 0100000000 00')));
  });

  test('a 4-octet length larger than the input is refused, not allocated', () => {
    malformed(() => readWhole(hex('30 84 7fffffff 0500')));
    malformed(() => readWhole(hex('30 84 ffffffff 0500')));
  });

  test('a length that runs past its parent is refused', () => {
    // SEQUENCE of 4 bytes whose child claims 5.
    malformed(() => childrenOf(readWhole(hex('30 04 04 05 616263'))));
  });

  test('truncated identifier, length or content', () => {
    malformed(() => readWhole(new Uint8Array(0)));
    malformed(() => readWhole(hex('04')));
    malformed(() => readWhole(hex('04 82 01')));
    malformed(() => readWhole(hex('04 03 6162')));
  });
});

describe('X.690 §10.2 exactly one element', () => {
  test('trailing bytes are refused', () => {
    malformed(() => readWhole(hex('0500 00')));
    malformed(() => readWhole(hex('04 01 61 04 01 62')));
  });
});

describe('X.690 §8.1.2 identifiers', () => {
  test('class, form and tag are read', () => {
    const n = readWhole(hex('a1 02 0500'));
    expect(n).toMatchObject({ cls: 2, constructed: true, tag: 1 });
    expect(childrenOf(n)).toHaveLength(1);
  });

  test('the high-tag form is read for tags of 31 and above', () => {
    expect(readWhole(hex('9f 1f 00'))).toMatchObject({ cls: 2, tag: 31 });
    expect(readWhole(hex('9f 81 00 00'))).toMatchObject({ tag: 128 });
  });

  test('the high-tag form for a tag below 31, with a leading 0x80, or of 5 octets is refused', () => {
    malformed(() => readWhole(hex('9f 1e 00')));
    malformed(() => readWhole(hex('9f 80 1f 00')));
    malformed(() => readWhole(hex('9f 81 81 81 81 01 00')));
  });

  test('universal tag 0 (end-of-contents) where an element is expected is refused', () => {
    malformed(() => readWhole(hex('0000')));
    malformed(() => childrenOf(readWhole(hex('30 02 0000'))));
  });

  test('more than max (default MAX_CHILDREN) elements are refused, before the rest is read', () => {
    const set = (n: number) => readWhole(tlv(0x31, Buffer.alloc(2 * n, hex('0500'))));
    expect(childrenOf(set(MAX_CHILDREN))).toHaveLength(MAX_CHILDREN);
    malformed(() => childrenOf(set(MAX_CHILDREN + 1)));
    expect(childrenOf(set(1000), false, 1000)).toHaveLength(1000);
    malformed(() => childrenOf(set(4_000_000)));
  });

  test('children of a primitive element are refused', () => {
    malformed(() => childrenOf(readWhole(hex('04 02 0500'))));
  });
});

describe('X.690 §8.1.3.6 indefinite lengths', () => {
  const indefinite = hex('30 80 04 01 61 30 80 05 00 00 00 00 00');

  test('refused unless the caller allows them', () => {
    malformed(() => readWhole(indefinite));
  });

  test('allowed: the element ends after its end-of-contents octets', () => {
    const n = readWhole(indefinite, true);
    expect(n.end).toBe(indefinite.length);
    expect(n.contentEnd).toBe(indefinite.length - 2);
    // The nested indefinite SEQUENCE is refused when its parent's children are read strictly …
    malformed(() => childrenOf(n));
    // … and read when allowed.
    const [, inner] = childrenOf(n, true);
    expect(inner).toBeDefined();
    malformed(() => definite(inner as NonNullable<typeof inner>));
  });

  test('a primitive element may not use the indefinite form', () => {
    malformed(() => readWhole(hex('04 80 61 00 00'), true));
  });

  test('a missing end-of-contents is refused', () => {
    malformed(() => readWhole(hex('30 80 04 01 61'), true));
  });

  test('nesting deeper than MAX_DEPTH is refused (no stack exhaustion)', () => {
    const deep = Buffer.concat([Buffer.alloc(2 * 100_000, Buffer.from('3080', 'hex'))]);
    malformed(() => readWhole(Buffer.concat([deep, Buffer.alloc(2 * 100_000)]), true));
  });
});

describe('X.690 §8.3 INTEGER and §8.19 OBJECT IDENTIFIER', () => {
  test('INTEGER: minimal encodings only', () => {
    expect(smallInteger(readWhole(hex('02 01 03')))).toBe(3);
    expect(Buffer.from(integerContent(readWhole(hex('02 02 0080')))).toString('hex')).toBe('0080');
    malformed(() => integerContent(readWhole(hex('02 02 0001'))));
    malformed(() => integerContent(readWhole(hex('02 02 ff80'))));
    malformed(() => integerContent(readWhole(hex('02 00'))));
    malformed(() => smallInteger(readWhole(hex('02 01 ff'))));
    malformed(() => smallInteger(readWhole(hex('04 01 01'))));
  });

  test.each([
    ['1.2.840.113549.1.7.2'],
    ['2.5.4.3'],
    ['2.999.1'],
    ['2.25.329800735698586629295641978511506172918'],
    ['1.2.9007199254740993.5'],
  ])('OID %s decodes as openssl encodes it', (oid) => {
    const out = join(mkdtempSync(join(tmpdir(), 'rxsign-oid-')), 'oid.der');
    openssl(['asn1parse', '-genstr', `OID:${oid}`, '-out', out, '-noout']);
    expect(oidOf(readWhole(readFileSync(out)))).toBe(oid);
  });

  test('OID: empty, unfinished or non-minimal subidentifiers are refused', () => {
    malformed(() => oidOf(readWhole(hex('06 00'))));
    malformed(() => oidOf(readWhole(hex('06 02 2a 86'))));
    malformed(() => oidOf(readWhole(hex('06 03 2a 80 01'))));
    malformed(() => oidOf(readWhole(hex('04 01 2a'))));
  });
});

describe('X.690 §11.7/§11.8 DER times', () => {
  const time = (tag: number, s: string) =>
    timeOf(readWhole(Uint8Array.from([tag, s.length, ...Buffer.from(s, 'latin1')])));

  test('UTCTime and GeneralizedTime', () => {
    expect(time(0x17, '250102030405Z')?.toISOString()).toBe('2025-01-02T03:04:05.000Z');
    expect(time(0x17, '500102030405Z')?.toISOString()).toBe('1950-01-02T03:04:05.000Z');
    expect(time(0x18, '20500102030405Z')?.toISOString()).toBe('2050-01-02T03:04:05.000Z');
    expect(time(0x18, '20500102030405.25Z')?.toISOString()).toBe('2050-01-02T03:04:05.250Z');
  });

  test('no seconds, a local time, trailing fraction zeros or an impossible date → undefined', () => {
    expect(time(0x17, '2501020304Z')).toBeUndefined();
    expect(time(0x17, '250102030405+0100')).toBeUndefined();
    expect(time(0x18, '20500102030405.50Z')).toBeUndefined();
    expect(time(0x17, '251302030405Z')).toBeUndefined();
    expect(time(0x17, '250230030405Z')).toBeUndefined();
    expect(time(0x04, '250102030405Z')).toBeUndefined();
  });
});

describe('readElement offsets', () => {
  test('limit bounds the element', () => {
    const buf = hex('04 02 6162 05 00');
    expect(readElement(buf, 0, 4).end).toBe(4);
    malformed(() => readElement(buf, 0, 3));
    expect(readElement(buf, 4, buf.length)).toMatchObject({ tag: 5, end: 6 });
  });
});
