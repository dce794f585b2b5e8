/** The HTTP layer's own codes. */
import { errorFactory, type ErrorTable, type ServiceError } from '../errors.js';

export type ApiErrorCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_NOT_FOUND'
  | 'ERR_FORBIDDEN_ORIGIN'
  | 'ERR_FORBIDDEN_HOST'
  | 'ERR_EVENTS_BUSY'
  | 'ERR_LARGE_BODY_BUSY'
  | 'ERR_FORBIDDEN_PEER'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_ORIGIN_ROUTE_FORBIDDEN'
  | 'ERR_CALLER_ROUTE_FORBIDDEN'
  | 'ERR_ORIGIN_DENIED'
  | 'ERR_APPROVAL_TIMEOUT'
  | 'ERR_APPROVAL_BUSY'
  | 'ERR_APPROVAL_UNKNOWN'
  | 'ERR_APPROVAL_PIN_REQUIRED'
  | 'ERR_APPROVALS_FILE_INVALID'
  | 'ERR_PIN_NOT_ALLOWED'
  | 'ERR_AGENT_NOT_AUTHENTIC'
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
    fix: 'Add the web application’s exact origin to RXSIGN_ALLOWED_ORIGINS (an `Origin: null` page, e.g. a file or a sandboxed frame, is never allowed).',
  },
  ERR_FORBIDDEN_PEER: {
    status: 403,
    message: 'the agent answers loopback peers only',
    fix: 'Call the agent from this machine (127.0.0.1 or [::1]); see docs/security.md for RXSIGN_UNSAFE_LISTEN.',
  },
  ERR_UNAUTHORIZED: {
    status: 401,
    message: 'this request needs the agent’s key',
    fix: 'Send `Authorization: Bearer <key>` with the key from $XDG_RUNTIME_DIR/rxsign/api-key (or a client key configured in RXSIGN_CLIENT_KEYS); open the agent page with `rxsign open`.',
  },
  ERR_ORIGIN_ROUTE_FORBIDDEN: {
    status: 403,
    message: 'web pages may not use this route',
    fix: 'Web pages may get a ticket, sign, verify and read the status; login, logout, role and approvals are for the agent page and the CLI (docs/security.md).',
  },
  ERR_CALLER_ROUTE_FORBIDDEN: {
    status: 403,
    message: 'this caller may not use this route',
    fix: 'Login (with the PIN), logout, role and approvals are for the agent page and the CLI only.',
  },
  ERR_ORIGIN_DENIED: {
    status: 403,
    message: 'the user did not allow this web page',
    fix: 'Ask the user to allow the origin on the agent page (they can undo a Deny there).',
  },
  ERR_APPROVAL_TIMEOUT: {
    status: 403,
    message: 'the user did not answer the approval in time',
    fix: 'Ask the user to open the agent page (rxsign open) and answer; then send the request again.',
  },
  ERR_APPROVAL_BUSY: {
    status: 429,
    message: 'too many approval requests are waiting',
    fix: 'Wait for the user to answer the questions already on the agent page.',
  },
  ERR_APPROVAL_UNKNOWN: {
    status: 404,
    message: 'no such approval request is waiting',
    fix: 'It was answered, timed out or withdrawn; reload the agent page.',
  },
  ERR_APPROVAL_PIN_REQUIRED: {
    status: 400,
    message: 'this request needs the card PIN with the answer',
    fix: 'Type the card PIN in the request’s PIN field on the agent page, then allow it (per-signature PIN policy).',
  },
  ERR_APPROVALS_FILE_INVALID: {
    status: 500,
    message: 'the approvals file is not valid',
    fix: 'Remove approvals.json from the agent’s state folder (web origins are then asked again) and start again.',
  },
  ERR_AGENT_NOT_AUTHENTIC: {
    status: 502,
    message: 'the program answering is not the rxsign agent',
    fix: 'Something else holds the agent’s port (maybe another user’s program): nothing was sent to it. Stop it, start the agent (rxsign serve), and try again.',
  },
  ERR_PIN_NOT_ALLOWED: {
    status: 403,
    message: 'a PIN is accepted from the agent page and the CLI only',
    fix: 'Do not send the PIN: the user logs in on the agent page or with rxsign login.',
  },
  ERR_FORBIDDEN_HOST: {
    status: 403,
    message: 'the Host header is not a loopback name',
    fix: 'Call the agent as http://127.0.0.1:<port> or http://localhost:<port>.',
  },
  ERR_LARGE_BODY_BUSY: {
    status: 503,
    message: 'too many large requests are being handled',
    fix: 'Wait for your other verification requests to finish, then send this one again (Retry-After says when).',
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
 * Builds an HTTP-layer error from {@link API_ERRORS}; `detail` (for example the field `issues`) travels with it.
 *
 * @example
 * ```ts
 * next(apiError('ERR_NOT_FOUND'));
 * ```
 */
export function apiError(
  code: ApiErrorCode,
  detail?: Record<string, unknown>,
): ServiceError<ApiErrorCode> {
  return makeApiError(code, detail ? { detail } : {});
}

const makeApiError = errorFactory(API_ERRORS);

/**
 * The HTTP layer's codes that any route may answer with (the guards, the body parser, the error handler);
 * the OpenAPI document lists them on every operation beside the route's own codes.
 */
export const EVERY_ROUTE_ERRORS: readonly ApiErrorCode[] = [
  'ERR_BAD_REQUEST',
  'ERR_BODY_TOO_LARGE',
  'ERR_FORBIDDEN_HOST',
  'ERR_FORBIDDEN_ORIGIN',
  'ERR_FORBIDDEN_PEER',
  'ERR_UNAUTHORIZED',
  'ERR_CALLER_ROUTE_FORBIDDEN',
  'ERR_ORIGIN_ROUTE_FORBIDDEN',
  'ERR_INTERNAL',
];
