// Signing section (signing issue §8): EPS batch signing (250 per call) through the library and CAdES signing
// through the HTTP route (in-process server on 127.0.0.1:0), each as a ratio of the raw C_Sign rate of this run.
// Per-request work stays tiny: the certificate is parsed once per card session. The HTTP clients run in the
// same process and their CPU counts against the service: a lean keep-alive load generator (http-load.ts, one
// connection per client as an EPS system keeps; every answer checked), because node:http's client costs
// several times its CPU per request and fetch (undici) more again.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp } from '../src/api/app.js';
import { signRouter } from '../src/api/routes/sign.js';
import { openAuditLog } from '../src/audit/index.js';
import { openTokenPort } from '../src/pkcs11/index.js';
import { buildSignedInfo } from '../src/prescription/signed-info.js';
import { createSigningService } from '../src/signing/index.js';
import { rate, type Row } from './common.js';
import { newKey } from '../src/runtime.js';
import { loadPool } from './http-load.js';
import type { SectionInput } from './sections.js';

/**
 * Concurrent HTTP clients for the CMS row: each answer waits for its audit record's fsync, so the card is only
 * kept busy when other requests can sign meanwhile (the audit log commits concurrent appends together).
 */
const CMS_CLIENTS = 16;

/**
 * Rows: EPS 250-per-call signatures/s and CMS-over-HTTP signatures/s, with ratios against raw C_Sign.
 *
 * @example
 * ```ts
 * extraSections.push({ name: 'signing', run: signingSection });
 * ```
 */
export async function signingSection(input: SectionInput): Promise<Row[]> {
  const { card, raw, ms } = input;
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-bench-sign-'));
  const port = await openTokenPort({ modulePath: card.modulePath, pollIntervalMs: 500 });
  const audit = await openAuditLog(join(dir, 'audit.log'));
  const service = createSigningService({
    port,
    token: { serial: card.serial },
    pinPolicy: 'session',
    audit,
  });
  const apiKey = newKey();
  const server = createApp({
    logger: pino({ level: 'silent' }),
    access: { keys: new Map([['cli', apiKey]]) },
    routers: [
      signRouter({
        service,
        roleProvider: () => ({ uid: '555000000001', roleId: '555000000101' }),
        signWithoutRole: false,
      }),
    ],
  }).listen(0, '127.0.0.1');
  try {
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port: httpPort } = server.address() as AddressInfo;
    const caller = { client: 'bench', pin: card.pin };
    const payloads = Array.from({ length: 250 }, (_, i) => ({
      id: `rx-${i}`,
      payload: Buffer.from(
        buildSignedInfo(new TextEncoder().encode(`<Fragment>${i}</Fragment>`), 'RS256'),
      ).toString('base64'),
    }));
    const batch = async () => {
      const r = await service.signEpsBatch({ payloads, algorithm: 'RS256' }, caller);
      if (r.signatures.length !== 250) {
        throw new Error('bench: EPS batch not fully signed');
      }
    };
    await batch(); // warm-up and login
    const eps = (await rate(batch, ms, 1)) * 250;

    const body = JSON.stringify({
      content: Buffer.from('a document of modest size\n'.repeat(40)).toString('base64'),
    });
    const check = (status: number, answer: Buffer): void => {
      const parsed = JSON.parse(answer.toString('utf8')) as { format?: unknown; cms?: unknown };
      if (
        status !== 200 ||
        parsed.format !== 'der' ||
        typeof parsed.cms !== 'string' ||
        parsed.cms === ''
      ) {
        throw new Error(`bench: CMS route answered ${status}`);
      }
    };
    const pool = await loadPool(httpPort, '/api/v1/sign/cms', body, check, CMS_CLIENTS, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    let cmsRate: number;
    try {
      await rate(pool.send, 200, CMS_CLIENTS); // warm-up
      cmsRate = await rate(pool.send, ms, CMS_CLIENTS);
    } finally {
      pool.close();
    }
    return [
      {
        section: 'signing',
        name: 'EPS batch sign (250/call, library)',
        perSecond: eps,
        baseline: 'raw C_Sign',
        ratio: eps / raw,
        target: '>= 0.95',
        pass: eps / raw >= 0.95,
      },
      {
        section: 'signing',
        name: `CMS sign via HTTP (${CMS_CLIENTS} clients)`,
        perSecond: cmsRate,
        baseline: 'raw C_Sign',
        ratio: cmsRate / raw,
        target: '>= 0.8',
        pass: cmsRate / raw >= 0.8,
      },
    ];
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    service.close();
    await audit.close();
    await port.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
