// docs/style.md §11: the code list, docs/errors.md and the types agree.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { describe, expect, test } from 'vitest';
import { renderErrorsDoc } from '../../src/api/errors-doc.js';
import { ERROR_REGISTRY, errorResponse, errorSpec } from '../../src/api/error-registry.js';
import { ServiceError } from '../../src/errors.js';

describe('error registry', () => {
  test('docs/errors.md is the registry, rendered (run `npm run docs:errors` after adding a code)', async () => {
    const path = resolve(import.meta.dirname, '..', '..', 'docs', 'errors.md');
    const doc = readFileSync(path, 'utf8');
    // The file is kept prettier-formatted (the test command checks formatting): compare formatted text.
    const options = { ...(await resolveConfig(path)), filepath: path };
    expect(doc).toBe(await format(renderErrorsDoc(), options));
  });

  test('every code is ERR_-prefixed, with a 4xx/5xx status, a message and a fix', () => {
    for (const [code, spec] of Object.entries(ERROR_REGISTRY)) {
      expect(code).toMatch(/^ERR_[A-Z0-9_]+$/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      expect(spec.message.length).toBeGreaterThan(3);
      expect(spec.fix.length).toBeGreaterThan(3);
    }
  });

  test('an exposed error keeps its code and fixed message and never its detail or cause', () => {
    const err = new ServiceError('ERR_PKCS11_PIN_INCORRECT', 'x', {
      cause: new Error('CKR_PIN_INCORRECT 123456'),
      detail: { pin: '123456' },
    });
    const { status, body } = errorResponse(err);
    expect(status).toBe(401);
    expect(JSON.stringify(body)).not.toContain('123456');
    expect(body).toMatchObject({
      code: 'ERR_PKCS11_PIN_INCORRECT',
      ticketApi: { name: 'AUTHENTICATION_FAILED' },
    });
  });

  test('an unknown error is ERR_INTERNAL with no detail', () => {
    expect(errorResponse(new Error('secret stack'))).toEqual({
      status: 500,
      body: {
        type: '/errors#ERR_INTERNAL',
        title: 'internal error',
        status: 500,
        detail: 'See the agent log; report it with the time of the request.',
        code: 'ERR_INTERNAL',
      },
    });
  });

  test('an error body is an RFC 9457 problem whose type points at the code’s anchor in docs/errors.md', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
    for (const code of Object.keys(ERROR_REGISTRY)) {
      const { status, body } = errorResponse(new ServiceError(code, 'x'));
      expect(body.status).toBe(status);
      expect(body.type).toBe(`/errors#${code}`);
      expect(body.title).toBe(errorSpec(code)?.message);
      expect(body.detail).toBe(errorSpec(code)?.fix);
      expect(doc).toContain(`<a id="${code}"></a>`);
    }
    expect(errorResponse(new ServiceError('ERR_TICKET_NOT_AVAILABLE', 'x')).body.ticketApi).toEqual(
      { name: 'TICKET_NOT_AVAILABLE', value: '0x80100009' },
    );
  });
});
