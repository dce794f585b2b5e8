// docs/protocol/cis-login.md §1.1 (lenient gpOBJECT), §1.2/§1.4/§1.6 (request bodies, field order).
import { describe, expect, test } from 'vitest';
import {
  buildActivateRequest,
  buildGpObject,
  buildLogoutRequest,
  buildValidateRequest,
  decodeEntities,
  gpParamMap,
  parseGpObject,
  SERVER_DOCTYPE,
} from '../../../src/auth/wire/gpobject.js';
import { haveVectors, noVectorsReason, vectorText } from './vectors.js';

const id = { logSessionId: 'ZtBJb9tU7T', deviceId: 'b02edd24', clientIp: '172.20.16.255' };

describe('§1.2/§1.4/§1.6 request bodies as the real clients write them', () => {
  test('§1.2 authactivate: DOCTYPE and field order verbatim', () => {
    expect(buildActivateRequest(id)).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE USER SYSTEM "gpOBJECT.DTD">',
        '<gpOBJECT>',
        '<gpPARAM name="auth_method">3</gpPARAM>',
        '<gpPARAM name="app_url">NHST</gpPARAM>',
        '<gpPARAM name="log_session_id">ZtBJb9tU7T</gpPARAM>',
        '<gpPARAM name="device_id">b02edd24,ClientIP=172.20.16.255</gpPARAM>',
        '<gpPARAM name="service">ACTIVATION</gpPARAM>',
        '</gpOBJECT>',
        '',
      ].join('\n'),
    );
  });

  test('§1.4 authvalidate: field order and the encoding attribute on response', () => {
    const body = buildValidateRequest({
      ...id,
      challenge: 'Q0g=',
      signature: 'U0k=',
      uid: '555000000001',
      response: 'UkVT',
    });
    const params = parseGpObject(body);
    expect(params.map((p) => p.name)).toEqual([
      'auth_method',
      'app_url',
      'log_session_id',
      'device_id',
      'service',
      'challenge',
      'signature',
      'uid',
      'card_type',
      'response',
      'mobility',
    ]);
    expect(body).toContain('<gpPARAM name="response" encoding="base64">UkVT</gpPARAM>');
    expect(gpParamMap(params).get('service')).toBe('AUTHENTICATION');
    expect(gpParamMap(params).get('card_type')).toBe('p11');
  });

  test('§1.6 logout: field order', () => {
    const names = parseGpObject(
      buildLogoutRequest({ ...id, ticket: 'AQIC5wM2LY4S+x=@AAJTSQACMDE=#', uid: '1' }),
    ).map((p) => p.name);
    expect(names).toEqual(['service', 'sso_ticket', 'log_session_id', 'device_id', 'uid']);
  });
});

describe('§1.1 lenient parser', () => {
  test('8-space indented PoC form, no Content-Type assumptions', () => {
    const poc = `<?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE USER SYSTEM "gpOBJECT.DTD">
        <gpOBJECT>
        <gpPARAM name="auth_method">3</gpPARAM>
        <gpPARAM name="log_session_id">  Ao9qufl+uA
        </gpPARAM>
        </gpOBJECT>`;
    expect(parseGpObject(poc)).toEqual([
      { name: 'auth_method', attributes: {}, value: '3' },
      { name: 'log_session_id', attributes: {}, value: 'Ao9qufl+uA' },
    ]);
  });

  test('raw & is kept, escaped entities are decoded, either quote style, attributes kept', () => {
    const text = `<gpOBJECT><gpPARAM name='a' id="1" orgcode='X&amp;Y'>A & B &amp; C &lt;D&gt; &#65;&#x42;</gpPARAM >
      <gpPARAM  name = "b"/></gpOBJECT>`;
    const [a, b] = parseGpObject(text);
    expect(a).toEqual({
      name: 'a',
      attributes: { id: '1', orgcode: 'X&Y' },
      value: 'A & B & C <D> AB',
    });
    expect(b).toEqual({ name: 'b', attributes: {}, value: '' });
  });

  test('CDATA values are taken verbatim', () => {
    expect(
      parseGpObject('<gpOBJECT><gpPARAM name="x"><![CDATA[a &amp; <b>]]></gpPARAM></gpOBJECT>')[0]
        ?.value,
    ).toBe('a &amp; <b>');
  });

  test('unknown entities and raw ampersands are not expanded', () => {
    expect(decodeEntities('&foo; & &amp;amp; &#0;')).toBe('&foo; & &amp; &#0;');
  });

  test('rejects text without a gpOBJECT element', () => {
    expect(() => parseGpObject('<html>nope</html>')).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_GPOBJECT_MALFORMED' }),
    );
  });

  test('rejects an unclosed gpPARAM', () => {
    expect(() => parseGpObject('<gpOBJECT><gpPARAM name="a">x</gpOBJECT>')).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_GPOBJECT_MALFORMED' }),
    );
  });

  test('rejects a gpPARAM without a name', () => {
    expect(() => parseGpObject('<gpOBJECT><gpPARAM id="1">x</gpPARAM></gpOBJECT>')).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_GPOBJECT_MALFORMED' }),
    );
  });

  test('duplicate names: first wins by default, refused with onDuplicate=throw', () => {
    const params = parseGpObject(
      '<gpOBJECT><gpPARAM name="uid">1</gpPARAM><gpPARAM name="uid">2</gpPARAM></gpOBJECT>',
    );
    expect(gpParamMap(params).get('uid')).toBe('1');
    expect(() => gpParamMap(params, { onDuplicate: 'throw' })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_GPOBJECT_DUPLICATE' }),
    );
  });

  test('builder → parser round trip, raw-ampersand server mode included', () => {
    const params = [
      {
        name: 'nhsjobrole0',
        attributes: { id: '1', orgcode: 'A1' },
        value: 'A & B <x>, "L1":"L2":"L3"',
      },
      { name: 'cn', value: 'Tom "T" O\'Neil' },
    ];
    for (const ampersand of ['escape', 'raw'] as const) {
      const text = buildGpObject(params, { doctype: SERVER_DOCTYPE, ampersand });
      expect(text.includes('A & B')).toBe(ampersand === 'raw');
      expect(parseGpObject(text)).toEqual([
        {
          name: 'nhsjobrole0',
          attributes: { id: '1', orgcode: 'A1' },
          value: 'A & B <x>, "L1":"L2":"L3"',
        },
        { name: 'cn', attributes: {}, value: 'Tom "T" O\'Neil' },
      ]);
    }
  });
});

describe.skipIf(!haveVectors)(
  `§1.4 captured INT authvalidate reply${haveVectors ? '' : ` (skipped: ${noVectorsReason})`}`,
  () => {
    test('parses despite the raw & (not well-formed XML)', () => {
      const text = vectorText('authvalidate-response-int-2017.xml');
      expect(text).toContain('"Admin & Clerical"');
      const map = gpParamMap(parseGpObject(text));
      expect(map.get('sso_ticket')).toBe(
        'AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF+B1j56GJ4xGut4=@AAJTSQACMDE=#',
      );
      expect(map.get('cn')).toBe('RA_A00394 RA A');
      expect(map.get('sso_max_session_time')).toBe('600');
      expect(map.get('sso_session_time')).toBe('600');
      expect(map.get('sso_keep_alive')).toBe('false');
      expect(map.get('log_session_id')).toBe('Ao9qufl+uA');
      expect(map.get('service')).toBe('AUTHENTICATION');
    });
  },
);
