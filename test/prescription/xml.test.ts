import { describe, expect, test } from 'vitest';

import { PRESCRIPTION_ERRORS } from '../../src/prescription/errors.js';
import { DEFAULT_MAX_XML_BYTES, parseXml } from '../../src/prescription/xml.js';

const rejects = (code: string, run: () => unknown): void => {
  expect(run).toThrow(
    expect.objectContaining({
      code,
      message: PRESCRIPTION_ERRORS[code as keyof typeof PRESCRIPTION_ERRORS].message,
    }),
  );
};

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<lolz>&lol9;</lolz>`;

describe('docs/design-notes.md §1 pre-parse gate: DTDs and entities', () => {
  test('rejects billion laughs quickly, without expanding anything', () => {
    const started = performance.now();
    rejects('ERR_XML_DOCTYPE_FORBIDDEN', () => parseXml(BILLION_LAUGHS));
    expect(performance.now() - started).toBeLessThan(200);
  });

  test('rejects XXE (external entity to a local file)', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    rejects('ERR_XML_DOCTYPE_FORBIDDEN', () => parseXml(new TextEncoder().encode(xxe)));
  });

  test('rejects an external DTD, a lowercase doctype and a stray ENTITY declaration', () => {
    rejects('ERR_XML_DOCTYPE_FORBIDDEN', () =>
      parseXml('<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>'),
    );
    rejects('ERR_XML_DOCTYPE_FORBIDDEN', () => parseXml('<!doctype r><r/>'));
    rejects('ERR_XML_DOCTYPE_FORBIDDEN', () => parseXml('<r><!ENTITY x "y"></r>'));
  });

  test('an undeclared entity reference is malformed, never resolved', () => {
    rejects('ERR_XML_MALFORMED', () => parseXml('<r>&x;</r>'));
  });
});

describe('processing instructions and comments', () => {
  test('accepts the XML declaration, and only at the start', () => {
    expect(parseXml('<?xml version="1.0" encoding="UTF-8"?><r/>').root.localName).toBe('r');
    rejects('ERR_XML_PI_FORBIDDEN', () => parseXml('<r/><?xml version="1.0"?>'));
  });

  test('rejects any other processing instruction, in the prolog or inside', () => {
    rejects('ERR_XML_PI_FORBIDDEN', () => parseXml('<?xml-stylesheet href="x.xsl"?><r/>'));
    rejects('ERR_XML_PI_FORBIDDEN', () => parseXml('<r><a><?php echo 1; ?></a></r>'));
  });

  test('comments are accepted by default and rejected on request, anywhere', () => {
    expect(parseXml('<!-- c --><r><!-- d --></r>').root.localName).toBe('r');
    rejects('ERR_XML_COMMENT_FORBIDDEN', () =>
      parseXml('<!-- c --><r/>', { rejectComments: true }),
    );
    rejects('ERR_XML_COMMENT_FORBIDDEN', () =>
      parseXml('<r><a><!-- d --></a></r>', { rejectComments: true }),
    );
  });
});

describe('malformed, oversize and binary input', () => {
  test.each([
    ['empty', ''],
    ['text only', 'just text'],
    ['unclosed element', '<r><a></r>'],
    ['mismatched end tag', '<r></s>'],
    ['unterminated start tag', '<r'],
    ['two root elements', '<a/><b/>'],
    ['text after the root', '<r/>trailing'],
    ['duplicate attribute', '<r a="1" a="2"/>'],
    ['duplicate expanded attribute name', '<r xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>'],
    ['unquoted attribute', '<r a=1/>'],
    ['unbound element prefix', '<p:r/>'],
    ['unbound attribute prefix', '<r p:a="1"/>'],
    ['undeclared prefix (xmlns:p="")', '<r xmlns:p="urn:x"><a xmlns:p=""/></r>'],
    ['NUL as a character reference', '<r>&#0;</r>'],
    ['raw control character', '<r>\u0001</r>'],
    ['lone surrogate reference', '<r a="&#xD800;"/>'],
  ])('rejects %s as ERR_XML_MALFORMED', (_name, xml) => {
    rejects('ERR_XML_MALFORMED', () => parseXml(xml));
  });

  test('rejects a document over the cap before decoding it (default 10 MiB, configurable)', () => {
    const big = new Uint8Array(DEFAULT_MAX_XML_BYTES + 1).fill(0x20);
    rejects('ERR_XML_TOO_LARGE', () => parseXml(big));
    rejects('ERR_XML_TOO_LARGE', () => parseXml('<r>€</r>', { maxBytes: 9 }));
    expect(parseXml('<r>€</r>', { maxBytes: 10 }).root.children[0]).toMatchObject({ value: '€' });
  });

  test('rejects invalid UTF-8 (binary garbage) and a non-UTF-8 encoding declaration', () => {
    rejects('ERR_XML_ENCODING_INVALID', () =>
      parseXml(new Uint8Array([0x3c, 0x72, 0x3e, 0xff, 0xfe, 0xc3, 0x28, 0x3c])),
    );
    rejects('ERR_XML_ENCODING_INVALID', () => parseXml(new Uint8Array([0xc0, 0xaf]))); // overlong '/'
    rejects('ERR_XML_ENCODING_INVALID', () =>
      parseXml('<?xml version="1.0" encoding="ISO-8859-1"?><r/>'),
    );
  });

  test('rejects binary garbage that happens to be valid UTF-8', () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 0x80);
    expect(() => parseXml(garbage)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_XML_/) }),
    );
  });

  test('rejects nesting deeper than the limit (the canonicaliser recurses)', () => {
    const deep = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n);
    expect(parseXml(deep(256)).root.localName).toBe('a');
    rejects('ERR_XML_TOO_DEEP', () => parseXml(deep(257)));
    rejects('ERR_XML_TOO_DEEP', () => parseXml(deep(5000)));
  });

  test('a UTF-8 byte order mark is accepted', () => {
    expect(
      parseXml(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('<r/>')])).root
        .localName,
    ).toBe('r');
  });

  test('messages are the fixed table strings and never echo the input', () => {
    try {
      parseXml('<r secret="4321"><unclosed></r>');
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('4321');
      expect(JSON.stringify((err as { detail?: unknown }).detail ?? {})).not.toContain('4321');
    }
  });
});
