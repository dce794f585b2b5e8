// HTTP signing routes (docs/api.md "Signing"): body validation → 400, size limits → 413, the role rule → 403
// unless configured, and what reaches the signing service (a recording stub: no card needed here).
import pino from 'pino';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { keyed, TEST_KEY, testAccess } from '../helpers/api-key.js';
import { signRouter } from '../../src/api/routes/sign.js';
import type { SignCaller, SigningService } from '../../src/signing/index.js';

interface Calls {
  eps: { payloads: number; algorithm: string; caller: SignCaller }[];
  refused: { code: string; caller: SignCaller }[];
  cms: { detached: boolean; pem: boolean; size: number; caller: SignCaller }[];
  hl7: { size: number; caller: SignCaller }[];
}

function stub(): { service: SigningService; calls: Calls } {
  const calls: Calls = { eps: [], refused: [], cms: [], hl7: [] };
  const service = {
    signEpsBatch: (req, caller) => {
      calls.eps.push({ payloads: req.payloads.length, algorithm: req.algorithm, caller });
      return Promise.resolve({
        certificate: 'Q0VSVA==',
        signatures: req.payloads.map((p) => ({ id: p.id, signature: 'U0lH' })),
        failed_signatures: [],
      } as unknown as Awaited<ReturnType<SigningService['signEpsBatch']>>);
    },

    signCms: (content, caller, o) => {
      calls.cms.push({
        detached: o?.detached === true,
        pem: o?.pem === true,
        size: content.length,
        caller,
      });
      return Promise.resolve(
        o?.pem === true ? Buffer.from('-----BEGIN CMS-----\n') : Uint8Array.of(0x30, 0x00),
      );
    },
    signHl7: (xml, caller) => {
      calls.hl7.push({ size: xml.length, caller });
      return Promise.resolve({
        xml: '<signed/>',
        signature: 'U0lH',
        certificate: 'Q0VSVA==',
        authorTime: '20260101000000',
      });
    },
    refuse: (caller, code) => {
      calls.refused.push({ code, caller });
      return Promise.resolve();
    },
  } as Partial<SigningService> as SigningService;
  return { service, calls };
}

function app(
  o: {
    role?: string;
    jobRole?: string;
    signWithoutRole?: boolean;
    prescriberRoles?: readonly string[];
  } = {},
) {
  const { service, calls } = stub();
  const router = signRouter({
    service,
    roleProvider: () =>
      o.role === undefined
        ? undefined
        : { uid: '555000000001', roleId: o.role, jobRole: o.jobRole ?? 'Nurse Access Role' },
    signWithoutRole: o.signWithoutRole ?? false,
    ...(o.prescriberRoles === undefined ? {} : { prescriberRoles: o.prescriberRoles }),
    xmlLimit: '1kb',
  });
  return {
    app: createApp({ logger: pino({ level: 'silent' }), routers: [router], access: testAccess() }),
    calls,
  };
}

const payload = Buffer.from('<SignedInfo></SignedInfo>').toString('base64');

describe('POST /api/v1/sign/eps', () => {
  test('a valid batch reaches the service with the role and the PIN, and returns the signPrescription shape', async () => {
    const { app: a, calls } = app({ role: '555000000101' });
    const res = await keyed(a)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256', pin: '1234' })
      .expect(200);
    expect(res.body).toEqual({
      certificate: 'Q0VSVA==',
      signatures: [{ id: 'rx1', signature: 'U0lH' }],
      failed_signatures: [],
    });
    expect(calls.eps[0]?.caller).toMatchObject({
      role: '555000000101',
      uid: '555000000001',
      pin: '1234',
      client: 'cli', // the authenticated key's name, not a header
    });
  });

  test.each([
    ['no payloads', { payloads: [], algorithm: 'RS256' }],
    ['unknown field', { payloads: [{ id: 'a', payload }], algorithm: 'RS256', extra: 1 }],
    [
      '251 payloads',
      {
        payloads: Array.from({ length: 251 }, (_, i) => ({ id: `i${i}`, payload })),
        algorithm: 'RS256',
      },
    ],
    ['id not printable', { payloads: [{ id: 'a\u0001', payload }], algorithm: 'RS256' }],
  ])('bad body (%s) → 400 ERR_BAD_REQUEST, no signing, PIN not echoed', async (_name, body) => {
    const { app: a, calls } = app({ role: '1' });
    const res = await keyed(a)
      .post('/api/v1/sign/eps')
      .send({ ...body, pin: 'SECRET-PIN' })
      .expect(400);
    expect(res.body.code).toBe('ERR_BAD_REQUEST');
    expect(JSON.stringify(res.body)).not.toContain('SECRET-PIN');
    expect(calls.eps).toHaveLength(0);
  });

  test('oversized JSON body → 413', async () => {
    const { app: a } = app({ role: '1' });
    const big = 'A'.repeat(1_100_000);
    const res = await keyed(a)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'a', payload: big }], algorithm: 'RS256' });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('ERR_BODY_TOO_LARGE');
  });

  test('no selected role → 403 ERR_SIGN_NO_ROLE, audited through the service, nothing signed', async () => {
    const { app: a, calls } = app();
    const res = await keyed(a)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256' })
      .expect(403);
    expect(res.body.code).toBe('ERR_SIGN_NO_ROLE');
    expect(calls.refused.map((r) => r.code)).toEqual(['ERR_SIGN_NO_ROLE']);
    expect(calls.eps).toHaveLength(0);
  });

  test('a role whose job role cannot prescribe → 403 ERR_SIGN_ROLE_NOT_PRESCRIBER, audited, nothing signed', async () => {
    const { app: a, calls } = app({ role: '555000000701', jobRole: 'Receptionist Access Role' });
    const res = await keyed(a)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256' })
      .expect(403);
    expect(res.body.code).toBe('ERR_SIGN_ROLE_NOT_PRESCRIBER');
    expect(calls.refused.map((r) => r.code)).toEqual(['ERR_SIGN_ROLE_NOT_PRESCRIBER']);
    expect(calls.eps).toHaveLength(0);
    // HL7 v3 prescriptions too; CMS (any document) is not a prescription.
    await keyed(a)
      .post('/api/v1/sign/hl7')
      .set('content-type', 'application/xml')
      .send('<x/>')
      .expect(403);
    await keyed(a)
      .post('/api/v1/sign/cms')
      .send({ content: Buffer.from('hi').toString('base64') })
      .expect(200);
  });

  test('the prescriber list is configurable: a listed name or code signs, * allows any role', async () => {
    const listed = app({
      role: '555000000701',
      jobRole: 'Receptionist Access Role',
      prescriberRoles: ['receptionist access role'],
    });
    await keyed(listed.app)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256' })
      .expect(200);
    const any = app({
      role: '555000000701',
      jobRole: 'Receptionist Access Role',
      prescriberRoles: ['*'],
    });
    await keyed(any.app)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256' })
      .expect(200);
    const defaults = app({ role: '555000000202', jobRole: 'Medical Practitioner Access Role' });
    await keyed(defaults.app)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256' })
      .expect(200);
  });

  test('no selected role but signWithoutRole configured → signed', async () => {
    const { app: a, calls } = app({ signWithoutRole: true });
    await keyed(a)
      .post('/api/v1/sign/eps')
      .send({ payloads: [{ id: 'rx1', payload }], algorithm: 'RS256' })
      .expect(200);
    expect(calls.eps[0]?.caller.role).toBeNull();
  });
});

describe('POST /api/v1/sign/cms', () => {
  test('content is decoded and options passed; DER answer is base64', async () => {
    const { app: a, calls } = app({ role: '1' });
    const res = await keyed(a)
      .post('/api/v1/sign/cms')
      .send({ content: Buffer.from('hello').toString('base64'), detached: true })
      .expect(200);
    expect(res.body).toEqual({ format: 'der', cms: 'MAA=' });
    expect(calls.cms[0]).toMatchObject({ detached: true, pem: false, size: 5 });
  });

  test('non-canonical base64 content → 400', async () => {
    const { app: a } = app({ role: '1' });
    const res = await keyed(a).post('/api/v1/sign/cms').send({ content: 'aGVsbG9=' }).expect(400);
    expect(res.body.code).toBe('ERR_BAD_REQUEST');
  });

  test('no role → 403', async () => {
    const { app: a, calls } = app();
    await keyed(a).post('/api/v1/sign/cms').send({ content: 'aGVsbG8=' }).expect(403);
    expect(calls.cms).toHaveLength(0);
  });
});

describe('POST /api/v1/sign/hl7', () => {
  test('application/xml body is signed with the live login: no PIN travels with it', async () => {
    const { app: a, calls } = app({ role: '1' });
    const res = await keyed(a)
      .post('/api/v1/sign/hl7')
      .set('content-type', 'application/xml')
      .send('<ParentPrescription/>')
      .expect(200);
    expect(res.text).toBe('<signed/>');
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    expect(calls.hl7[0]?.caller.pin).toBeUndefined();
  });

  test('X-Rxsign-Pin (a header is logged by proxies and kept by devtools) → 400 ERR_PIN_IN_HEADER, nothing signed, PIN not echoed', async () => {
    const { app: a, calls } = app({ role: '1' });
    for (const type of ['application/xml', 'application/json']) {
      const res = await keyed(a)
        .post('/api/v1/sign/hl7')
        .set('content-type', type)
        .set('x-rxsign-pin', 'SECRET-PIN')
        .send(type === 'application/xml' ? '<ParentPrescription/>' : '{"xml":"<a/>"}')
        .expect(400);
      expect(res.body.code).toBe('ERR_PIN_IN_HEADER');
      expect(JSON.stringify(res.body)).not.toContain('SECRET-PIN');
    }
    expect(calls.hl7).toHaveLength(0);
  });

  test('the JSON envelope { xml, pin, algorithm } carries the PIN; the answer is JSON', async () => {
    const { app: a, calls } = app({ role: '1' });
    const res = await keyed(a)
      .post('/api/v1/sign/hl7')
      .send({ xml: '<ParentPrescription/>', pin: '1234', algorithm: 'RS1' })
      .expect(200);
    expect(res.body).toEqual({
      xml: '<signed/>',
      signature: 'U0lH',
      certificate: 'Q0VSVA==',
      authorTime: '20260101000000',
    });
    expect(calls.hl7[0]).toMatchObject({ size: 21 });
    expect(calls.hl7[0]?.caller).toMatchObject({ pin: '1234', pinFrom: 'cli' });
  });

  test.each([
    ['unknown field', { xml: '<a/>', extra: 1 }],
    ['no xml', { pin: '1234' }],
    ['PIN not a string', { xml: '<a/>', pin: 1234 }],
    ['bad algorithm', { xml: '<a/>', algorithm: 'HS256' }],
  ])('bad envelope (%s) → 400, nothing signed', async (_n, body) => {
    const { app: a, calls } = app({ role: '1' });
    const res = await keyed(a).post('/api/v1/sign/hl7').send(body).expect(400);
    expect(res.body.code).toBe('ERR_BAD_REQUEST');
    expect(calls.hl7).toHaveLength(0);
  });

  test('oversized XML → 413, raw or in the envelope', async () => {
    const { app: a } = app({ role: '1' });
    const big = `<a>${'x'.repeat(2000)}</a>`;
    const raw = await keyed(a)
      .post('/api/v1/sign/hl7')
      .set('content-type', 'application/xml')
      .send(big);
    expect(raw.status).toBe(413);
    const env = await keyed(a).post('/api/v1/sign/hl7').send({ xml: big });
    expect(env.status).toBe(413);
    expect(env.body.code).toBe('ERR_BODY_TOO_LARGE');
  });

  test('neither XML nor JSON → 415', async () => {
    const { app: a } = app({ role: '1' });
    const res = await keyed(a)
      .post('/api/v1/sign/hl7')
      .set('content-type', 'text/plain')
      .send('<a/>');
    expect(res.status).toBe(415);
  });
});

describe('the PIN source (src/api/pin-source.ts, from the authenticated caller)', () => {
  test('only the CLI key may send a PIN to the signing routes; the page may not sign; a named client or a web page may not send a PIN', async () => {
    const { service, calls } = stub();
    const router = signRouter({
      service,
      roleProvider: () => ({ uid: '555000000001', roleId: '1' }),
      signWithoutRole: false,
    });
    const access = testAccess({ allowedOrigins: ['https://emr.example'] });
    const keys = new Map(access.keys);
    keys.set('page', 'p'.repeat(43));
    keys.set('pharmacy', 'f'.repeat(43));
    const a = createApp({
      logger: pino({ level: 'silent' }),
      routers: [router],
      access: { ...access, keys },
    });
    const send = (headers: Record<string, string>) =>
      request(a)
        .post('/api/v1/sign/cms')
        .set('host', '127.0.0.1:8730')
        .set(headers)
        .send({ content: 'aGVsbG8=', pin: '1234' });
    expect((await send({ authorization: `Bearer ${TEST_KEY}` })).status).toBe(200);
    const page = await send({
      origin: 'http://127.0.0.1:8730',
      authorization: `Bearer ${'p'.repeat(43)}`,
    });
    expect(page.body.code).toBe('ERR_CALLER_ROUTE_FORBIDDEN');
    expect((await send({ authorization: `Bearer ${'f'.repeat(43)}` })).body.code).toBe(
      'ERR_PIN_NOT_ALLOWED',
    );
    expect((await send({ origin: 'https://emr.example' })).body.code).toBe('ERR_PIN_NOT_ALLOWED');
    expect(calls.cms.map((c) => c.caller.pinFrom)).toEqual(['cli']);
  });
});
