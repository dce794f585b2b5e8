// SsbClient against a hostile or broken broker: replies are read up to a bound, never buffered whole.
import { describe, expect, test } from 'vitest';
import { SsbClient, type Fetch } from '../../src/auth/ssb-client.js';

const id = { logSessionId: 'ZtBJb9tU7T', deviceId: 'b02edd24', clientIp: '127.0.0.1' };
const CHUNK = 64 * 1024;

/** A 200 reply streaming `total` bytes of filler in 64 KiB chunks, counting what was pulled. */
function streaming(
  total: number,
  headers: Record<string, string> = {},
): { fetch: Fetch; pulled: () => number } {
  let pulled = 0;
  const fetch: Fetch = () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) {
          controller.close();
          return;
        }
        pulled += CHUNK;
        controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
      },
    });
    return Promise.resolve(new Response(body, { status: 200, headers }));
  };
  return { fetch, pulled: () => pulled };
}

describe('reply size bound', () => {
  test('a streamed reply over 2 MiB is refused after about 2 MiB, not read to its end', async () => {
    const peer = streaming(64 * 1024 * 1024);
    const ssb = new SsbClient({
      baseUrl: 'http://ssb.invalid',
      timeoutMs: 5000,
      fetch: peer.fetch,
      retries: 0,
    });
    await expect(
      ssb.validate({ ...id, challenge: 'c', signature: 's', uid: 'u', response: 'r' }),
    ).rejects.toMatchObject({
      code: 'ERR_AUTHDATA_SYNTAX_ERROR',
    });
    expect(peer.pulled()).toBeLessThanOrEqual(2 * 1024 * 1024 + 4 * CHUNK);
  });

  test('a reply announcing more than 2 MiB is refused before its body is read', async () => {
    const peer = streaming(64 * 1024 * 1024, { 'content-length': String(64 * 1024 * 1024) });
    const ssb = new SsbClient({
      baseUrl: 'http://ssb.invalid',
      timeoutMs: 5000,
      fetch: peer.fetch,
      retries: 0,
    });
    await expect(ssb.activate(id)).rejects.toMatchObject({ code: 'ERR_AUTHDATA_SYNTAX_ERROR' });
    expect(peer.pulled()).toBeLessThanOrEqual(2 * CHUNK);
  });

  test('a reply within the bound is read whole (chunked, multi-byte text split across chunks)', async () => {
    const reply = `<gpOBJECT><gpPARAM name="challenge">c</gpPARAM><gpPARAM name="signature">s</gpPARAM><gpPARAM name="note">${'é'.repeat(100_000)}</gpPARAM></gpOBJECT>`;
    const bytes = new TextEncoder().encode(reply);
    const fetch: Fetch = () => {
      let at = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= bytes.length) {
            controller.close();
            return;
          }
          controller.enqueue(bytes.subarray(at, at + 4097)); // odd size: splits the two-byte 'é'
          at += 4097;
        },
      });
      return Promise.resolve(new Response(body, { status: 200 }));
    };
    const ssb = new SsbClient({
      baseUrl: 'http://ssb.invalid',
      timeoutMs: 5000,
      fetch,
      retries: 0,
    });
    await expect(ssb.activate(id)).resolves.toEqual({ challenge: 'c', signature: 's' });
  });
});
