// crlFetcher (src/verify/crl-fetch.ts) over real HTTP: the size limit holds for a body without content-length.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { crlFetcher } from '../../src/verify/index.js';

let server: Server;
let base: string;
const chunk = Buffer.alloc(64 * 1024, 0x30);

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/small.crl') {
      res.end(Buffer.from('crl bytes'));
      return;
    }
    // Chunked (no content-length) and endless: written as fast as the client reads.
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {
        // keep writing until the socket buffer is full
      }
    };
    res.on('drain', pump);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('a body is returned as bytes', async () => {
  const got = await crlFetcher()(`${base}/small.crl`);
  expect(Buffer.from(got ?? []).toString()).toBe('crl bytes');
});

test('an endless chunked body stops at 10 MiB (unavailable), long before the timeout', async () => {
  const started = Date.now();
  expect(await crlFetcher({ timeoutMs: 60_000 })(`${base}/endless.crl`)).toBeUndefined();
  expect(Date.now() - started).toBeLessThan(8_000);
}, 15_000);
