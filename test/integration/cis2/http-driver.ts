// A browser stand-in for the non-browser CIS2 tests: follows redirects by hand with a cookie jar, so each
// step (authorize, the login page, the agent's assertion, the form post) can be checked or tampered with.
import { expect } from 'vitest';

export class Jar {
  readonly #cookies = new Map<string, string>();

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) {
        this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
    }
  }
}

export async function get(jar: Jar, url: string): Promise<Response> {
  const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
  jar.take(res);
  return res;
}

/** Follows redirects from `url` until a page that is not a redirect, or until `stop` matches the URL. */
export async function follow(
  jar: Jar,
  url: string,
  stop?: (u: string) => boolean,
): Promise<{ url: string; res: Response }> {
  let current = url;
  for (let i = 0; i < 12; i++) {
    if (stop?.(current)) {
      return { url: current, res: await get(jar, current) };
    }
    const res = await get(jar, current);
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc) {
      return { url: current, res };
    }
    current = new URL(loc, current).href;
  }
  throw new Error('too many redirects');
}

export interface LoginPageState {
  interactionUrl: string;
  nonce: string;
  audience: string;
  agent: string;
  authAfter: number;
  html: string;
}

export async function openLoginPage(jar: Jar, rpUrl: string, query = ''): Promise<LoginPageState> {
  const { url, res } = await follow(jar, `${rpUrl}/login${query}`);
  const html = await res.text();
  expect(url, html.slice(0, 300)).toMatch(/\/interaction\/[^/]+$/);
  const m = /data-config="([^"]+)"/.exec(html);
  const cfg = JSON.parse((m?.[1] ?? '{}').replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as {
    nonce: string;
    audience: string;
    agent: string;
    authAfter: number;
  };
  return { interactionUrl: url, html, ...cfg };
}

export async function askAgent(
  agentUrl: string,
  origin: string | undefined,
  body: Record<string, unknown>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${agentUrl}/api/v1/cis2/assertion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Posts the assertion and follows to the relying party's callback; returns the final URL. */
export async function postAssertion(
  jar: Jar,
  interactionUrl: string,
  assertion: string,
): Promise<{ url: string; res: Response }> {
  const res = await fetch(`${interactionUrl}/smartcard`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ assertion }).toString(),
  });
  jar.take(res);
  const loc = res.headers.get('location');
  if (!loc) {
    return { url: interactionUrl, res };
  }
  return follow(jar, new URL(loc, interactionUrl).href);
}
