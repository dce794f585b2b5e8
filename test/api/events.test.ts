// GET /api/v1/status and GET /api/v1/events (Server-Sent Events) over a real loopback listener: frames,
// retry and heartbeat, the stream limit, streams ended when the agent closes, and the bus's own rules.
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { TEST_KEY, testAccess } from '../helpers/api-key.js';
import { statusRouter, type StatusRouter } from '../../src/api/routes/status.js';
import { createEventBus, type AgentEvent, type EventBus } from '../../src/events.js';
import { listen, type Listening } from '../../src/net.js';

/** The agent's key (`cli`): status and events are for key holders and the page (access.ts). */
const AUTH = { headers: { authorization: `Bearer ${TEST_KEY}` } };

const logger = pino({ level: 'silent' });
let http: Listening | undefined;

afterEach(async () => {
  await http?.close();
  http = undefined;
});

async function start(
  o: { maxStreams?: number; heartbeatMs?: number } = {},
): Promise<{ url: string; bus: EventBus; router: StatusRouter }> {
  const bus = createEventBus(() => Date.UTC(2026, 0, 2, 3, 4, 5));
  const router = statusRouter({
    version: '9.8.7',
    session: () => ({
      state: 'active',
      card: { label: 'prescriber', serial: 'abc' },
      uid: '555000000101',
      name: 'Pat Prescriber',
      roles: [],
      selectedRole: {
        id: '555000000201',
        orgName: 'Org',
        jobRole: ['a', 'b', 'c'],
        jobRoleText: '"a":"b":"c"',
      },
      timeLeftSeconds: 42,
    }),
    broker: () => ({ url: 'http://127.0.0.1:1', reachable: true }),
    signing: true,
    bus,
    ...o,
  });
  http = await listen(createApp({ logger, routers: [router], access: testAccess() }), {
    port: 0,
    host: '127.0.0.1',
    beforeClose: () => router.closeStreams(),
  });
  return { url: http.url, bus, router };
}

/** Reads a stream's text until `until` matches (or the stream ends). */
async function readUntil(
  body: ReadableStream<Uint8Array>,
  until: (text: string) => boolean,
): Promise<{ text: string; ended: boolean }> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return { text, ended: true };
    }
    text += dec.decode(value, { stream: true });
    if (until(text)) {
      reader.releaseLock();
      return { text, ended: false };
    }
  }
}

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET /api/v1/status', () => {
  test('agent version, card, session and broker, nothing secret', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/api/v1/status`, AUTH);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      agent: { name: 'rxsign', version: '9.8.7' },
      card: { present: true, label: 'prescriber', serial: 'abc' },
      session: {
        state: 'active',
        uid: '555000000101',
        name: 'Pat Prescriber',
        selectedRole: {
          id: '555000000201',
          orgName: 'Org',
          jobRole: ['a', 'b', 'c'],
          jobRoleText: '"a":"b":"c"',
        },
        timeLeftSeconds: 42,
      },
      broker: { url: 'http://127.0.0.1:1', reachable: true },
      signing: true,
    });
  });
});

describe('GET /api/v1/events', () => {
  test('starts with retry:, then each event as id/event/data; heartbeats are comments', async () => {
    const { url, bus, router } = await start({ heartbeatMs: 20 });
    const res = await fetch(`${url}/api/v1/events`, AUTH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = res.body as ReadableStream<Uint8Array>;
    const first = await readUntil(body, (t) => t.includes(': heartbeat\n\n'));
    expect(first.text.startsWith('retry: 3000\n')).toBe(true);
    await waitFor(() => router.streams === 1);
    bus.emit({
      type: 'signature.made',
      kind: 'cms',
      documentIds: [],
      sha256: ['ab'.repeat(32)],
      client: 'cli',
    });
    bus.emit({ type: 'session.ended', uid: '555000000101', reason: 'logout' });
    const next = await readUntil(body, (t) => t.includes('event: session.ended'));
    const frames = next.text
      .split('\n\n')
      .filter((f) => f.startsWith('id: '))
      .map((f) =>
        Object.fromEntries(
          f.split('\n').map((l) => [l.split(': ')[0], l.slice(l.indexOf(': ') + 2)]),
        ),
      );
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ id: '1', event: 'signature.made' });
    expect(JSON.parse(frames[1]?.data ?? '')).toEqual({
      type: 'session.ended',
      uid: '555000000101',
      reason: 'logout',
      id: 2,
      time: '2026-01-02T03:04:05.000Z',
    });
    await body.cancel();
    await waitFor(() => router.streams === 0);
    expect(bus.listeners).toBe(0);
  });

  test('one stream beyond the limit is refused with ERR_EVENTS_BUSY (503, a problem); a freed slot is reusable', async () => {
    const { url, router } = await start({ maxStreams: 2 });
    const a = await fetch(`${url}/api/v1/events`, AUTH);
    const b = await fetch(`${url}/api/v1/events`, AUTH);
    await waitFor(() => router.streams === 2);
    const c = await fetch(`${url}/api/v1/events`, AUTH);
    expect(c.status).toBe(503);
    expect(c.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await c.json()).toMatchObject({ code: 'ERR_EVENTS_BUSY', status: 503 });
    await a.body?.cancel();
    await waitFor(() => router.streams === 1);
    const d = await fetch(`${url}/api/v1/events`, AUTH);
    expect(d.status).toBe(200);
    await b.body?.cancel();
    await d.body?.cancel();
  });

  test('a client that stops reading is dropped once 1 MiB waits for it, not buffered without end', async () => {
    const { url, bus, router } = await start();
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TEST_KEY}\r\n\r\n`,
    );
    socket.pause();
    await waitFor(() => router.streams === 1);
    const client = 'x'.repeat(4096);
    for (let i = 0; i < 20_000 && router.streams === 1; i++) {
      bus.emit({ type: 'signature.made', kind: 'cms', documentIds: [], sha256: [], client });
      if (i % 100 === 0) {
        await new Promise((r) => setImmediate(r));
      }
    }
    expect(router.streams).toBe(0);
    expect(bus.listeners).toBe(0);
    socket.destroy();
  });

  test('closing the agent ends every stream (the client sees the end, not a hang)', async () => {
    const { url, router } = await start();
    const res = await fetch(`${url}/api/v1/events`, AUTH);
    const body = res.body as ReadableStream<Uint8Array>;
    await readUntil(body, (t) => t.includes('retry:'));
    await waitFor(() => router.streams === 1);
    const closing = http?.close();
    const rest = await readUntil(body, () => false).catch(() => ({ text: '', ended: true }));
    expect(rest.ended).toBe(true);
    await closing;
    expect(router.streams).toBe(0);
  });
});

describe('event bus', () => {
  test('a throwing listener neither stops the emitter nor the other listeners', () => {
    const bus = createEventBus();
    const seen: AgentEvent[] = [];
    bus.subscribe(() => {
      throw new Error('closed stream');
    });
    const off = bus.subscribe((e) => seen.push(e));
    expect(() =>
      bus.emit({ type: 'card.removed', card: { label: 'x', serial: 'y' } }),
    ).not.toThrow();
    off();
    bus.emit({ type: 'card.removed', card: { label: 'x', serial: 'y' } });
    expect(seen.map((e) => e.id)).toEqual([1]);
  });
});
