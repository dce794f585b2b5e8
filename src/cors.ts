/**
 * The CORS preflight answer shared by the agent's API (src/api/access.ts), its CIS2 routes and the Credential
 * Management hub (src/cm/server.ts), after each has decided that the origin is allowed (Fetch Standard, "CORS
 * protocol"; Private Network Access, WICG draft).
 *
 * Rules:
 * - only GET and POST, only the request headers the caller names, cached by the browser for 10 minutes;
 * - Chromium's Private/Local Network Access preflight (`Access-Control-Request-Private-Network: true`) is
 *   answered with `Access-Control-Allow-Private-Network: true`, and only when it was asked for;
 * - the allowed origin itself (`Access-Control-Allow-Origin`, `Vary`) is set by the caller, which knows it.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Sets the preflight headers on `res` for a request with headers `requestHeaders`.
 *
 * @example
 * ```ts
 * setPreflightHeaders(req.headers, res, 'content-type, authorization');
 * res.writeHead(204).end();
 * ```
 */
export function setPreflightHeaders(
  requestHeaders: IncomingHttpHeaders,
  res: { setHeader(name: string, value: string): unknown },
  allowHeaders: string,
): void {
  res.setHeader('access-control-allow-methods', 'GET, POST');
  res.setHeader('access-control-allow-headers', allowHeaders);
  res.setHeader('access-control-max-age', '600');
  if (requestHeaders['access-control-request-private-network'] === 'true') {
    res.setHeader('access-control-allow-private-network', 'true');
  }
}
