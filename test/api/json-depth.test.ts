// Deeply nested JSON never gives a 500 (issue 10 §3): the app refuses a body nested deeper than
// MAX_JSON_DEPTH before parsing it; the raw FHIR path of /api/v1/verify reports a format failure.
import { Router } from 'express';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { documented } from '../../src/api/route-table.js';
import { MAX_JSON_DEPTH, jsonDepth } from '../../src/api/json-depth.js';
import { verifyRouter } from '../../src/api/routes/verify.js';
import { silentLogger } from '../../src/log.js';
import { keyed, testAccess } from '../helpers/api-key.js';

const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

function app(): ReturnType<typeof createApp> {
  const echo = Router();
  echo.post('/echo', (req, res) => {
    res.json({ echoed: JSON.stringify(req.body).length });
  });
  return createApp({
    logger: silentLogger,
    routers: [verifyRouter(), documented(echo, [])],
    access: testAccess(),
    jsonLimits: [{ prefix: '/api/v1/verify', limit: '70mb' }],
  });
}

describe('nested JSON bodies', () => {
  test('jsonDepth counts brackets outside strings only (escaped quotes included)', () => {
    expect(jsonDepth(Buffer.from('{"a":[1,{"b":"]]]]"}]}'))).toBe(3);
    expect(jsonDepth(Buffer.from('["\\"[[[[", [[]]]'))).toBe(3);
    expect(jsonDepth(Buffer.from('"[[[["'))).toBe(0);
    expect(jsonDepth(Buffer.from(deepArray(100_000)), 10)).toBe(11);
  });

  test.each([
    ['/api/v1/verify', 'arrays', deepArray(100_000)],
    ['/api/v1/verify', 'objects', deepObject(100_000)],
    ['/api/v1/verify/batch', 'arrays', deepArray(100_000)],
    ['/echo', 'objects', deepObject(100_000)],
    ['/no-such-route', 'arrays', deepArray(100_000)],
  ])(
    'POST %s with 100,000 nested %s as application/json: 400 ERR_BAD_REQUEST',
    async (path, _k, text) => {
      const res = await keyed(app()).post(path).set('content-type', 'application/json').send(text);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('ERR_BAD_REQUEST');
      expect(JSON.stringify(res.body)).toContain(`deeper than ${MAX_JSON_DEPTH}`);
    },
  );

  test.each(['utf-7', 'utf-16le', 'utf-16be', 'UTF-16'])(
    'JSON in charset=%s is refused with 415 before parsing (was: decoded after the nesting check, so its depth went uncounted)',
    async (charset) => {
      const encode = (text: string): Buffer =>
        charset === 'utf-7'
          ? Buffer.from(text.replaceAll('[', '+AFs-').replaceAll(']', '+AF0-'), 'latin1')
          : Buffer.from(text, 'utf16le');
      // 200,000 levels under /api/v1/verify's 70 MB limit, 20,000 under the default
      for (const [path, levels] of [
        ['/api/v1/verify', 200_000],
        ['/echo', 20_000],
      ] as const) {
        const res = await keyed(app())
          .post(path)
          .set('content-type', `application/json; charset=${charset}`)
          .send(encode(deepArray(levels)));
        expect(res.status).toBe(415);
        expect(res.body.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
      }
      // a plain object in that charset is refused too: JSON is UTF-8
      const small = await keyed(app())
        .post('/echo')
        .set('content-type', `application/json; charset=${charset}`)
        .send(Buffer.from('{"a":1}', 'utf16le'));
      expect(small.status).toBe(415);
    },
  );

  test('JSON declared as charset=utf-8 (any case) or with no charset is read', async () => {
    for (const type of [
      'application/json',
      'application/json; charset=UTF-8',
      'application/json; charset=utf-8',
    ]) {
      const res = await keyed(app()).post('/echo').set('content-type', type).send('{"a":1}');
      expect(res.status).toBe(200);
    }
  });

  test('POST /api/v1/verify with 100,000 nested levels as application/fhir+json: a report, not a 500', async () => {
    for (const text of [deepArray(100_000), deepObject(100_000)]) {
      const res = await keyed(app())
        .post('/api/v1/verify')
        .set('content-type', 'application/fhir+json')
        .send(text);
      expect(res.status).toBe(200);
      expect(res.body.result).not.toBe('PASSED');
    }
  });

  test(`${MAX_JSON_DEPTH} levels are still accepted`, async () => {
    const res = await keyed(app())
      .post('/echo')
      .set('content-type', 'application/json')
      .send(deepObject(MAX_JSON_DEPTH));
    expect(res.status).toBe(200);
    const over = await keyed(app())
      .post('/echo')
      .set('content-type', 'application/json')
      .send(deepObject(MAX_JSON_DEPTH + 1));
    expect(over.status).toBe(400);
  });
});
