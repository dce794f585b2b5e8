/** The HTTP layer's own codes. */
import type { ErrorTable } from '../errors.js';

export type ApiErrorCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_NOT_FOUND'
  | 'ERR_FORBIDDEN_ORIGIN'
  | 'ERR_FORBIDDEN_HOST'
  | 'ERR_EVENTS_BUSY'
  | 'ERR_INTERNAL';

export const API_ERRORS: ErrorTable<ApiErrorCode> = {
  ERR_BAD_REQUEST: {
    status: 400,
    message: 'the request is not valid',
    fix: 'See the `issues` field for the fields that are wrong, and docs/api.md for the request shapes.',
  },
  ERR_BODY_TOO_LARGE: {
    status: 413,
    message: 'the request body is too large',
    fix: 'Send smaller documents or fewer per request (limits in docs/api.md).',
  },
  ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'the request body has an unsupported content type',
    fix: 'Send application/json (or the type the route documents).',
  },
  ERR_NOT_FOUND: { status: 404, message: 'no such route', fix: 'See docs/api.md for the routes.' },
  ERR_FORBIDDEN_ORIGIN: {
    status: 403,
    message: 'requests from this origin are not allowed',
    fix: 'Add the web application’s exact origin to RXSIGN_ALLOWED_ORIGINS.',
  },
  ERR_FORBIDDEN_HOST: {
    status: 403,
    message: 'the Host header is not a loopback name',
    fix: 'Call the agent as http://127.0.0.1:<port> or http://localhost:<port>.',
  },
  ERR_EVENTS_BUSY: {
    status: 503,
    message: 'too many event streams are open',
    fix: 'Close an event stream (GET /api/v1/events) you no longer read; one per client is enough.',
  },
  ERR_INTERNAL: {
    status: 500,
    message: 'internal error',
    fix: 'See the agent log; report it with the time of the request.',
  },
};

/**
 * The HTTP layer's codes that any route may answer with (the guards, the body parser, the error handler);
 * the OpenAPI document lists them on every operation beside the route's own codes.
 */
export const EVERY_ROUTE_ERRORS: readonly ApiErrorCode[] = [
  'ERR_BAD_REQUEST',
  'ERR_BODY_TOO_LARGE',
  'ERR_FORBIDDEN_HOST',
  'ERR_FORBIDDEN_ORIGIN',
  'ERR_INTERNAL',
];
