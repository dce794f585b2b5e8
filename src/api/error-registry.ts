/**
 * The one registry: every folder's error table merged, each code mapped to its HTTP status and public
 * message; and the one function that builds an error response body (docs/style.md §11–12). Exposed errors become
 * an RFC 9457 problem (`application/problem+json`: `type`, `title`, `status`, `detail`, plus `code`, and
 * `ticketApi` for the Ticket API's errors); anything unknown becomes ERR_INTERNAL with no detail.
 *
 * The agent's codes only: the Spine simulator is a separate program with its own table
 * (src/spine-sim/errors.ts, documented in docs/spine-sim.md).
 */
import { AUDIT_ERRORS } from '../audit/index.js';
import { AUTH_ERRORS, TICKET_API, WIRE_ERRORS } from '../auth/index.js';
import { CIS2_ERRORS } from '../cis2/index.js';
import { CMS_ERRORS } from '../cms/index.js';
import { CONFIG_ERRORS } from '../config.js';
import { isServiceError, type ErrorSpec, type ServiceError } from '../errors.js';
import { PKCS11_ERRORS } from '../pkcs11/index.js';
import { PIN_ERRORS } from '../pin/index.js';
import { FHIR_ERRORS } from '../prescription/fhir/index.js';
import { PRESCRIPTION_ERRORS } from '../prescription/index.js';
import { SIGN_ERRORS } from '../signing/index.js';
import { LISTEN_ERRORS } from '../net.js';
import { RUNTIME_ERRORS } from '../runtime.js';
import { API_ERRORS } from './errors.js';

const TABLES = {
  ...PKCS11_ERRORS,
  ...PIN_ERRORS,
  ...CMS_ERRORS,
  ...PRESCRIPTION_ERRORS,
  ...FHIR_ERRORS,
  ...SIGN_ERRORS,
  ...AUDIT_ERRORS,
  ...WIRE_ERRORS,
  ...AUTH_ERRORS,
  ...CONFIG_ERRORS,
  ...RUNTIME_ERRORS,
  ...LISTEN_ERRORS,
  ...CIS2_ERRORS,
  ...API_ERRORS,
};

/** Every code the agent can answer with: the union of the folders' code types, derived from their tables. */
export type ServiceErrorCode = keyof typeof TABLES;

export const ERROR_REGISTRY: Readonly<Record<ServiceErrorCode, ErrorSpec>> = Object.freeze(TABLES);

/** The spec of a code, or undefined for a code that is not the agent's. */
export function errorSpec(code: string): ErrorSpec | undefined {
  return Object.hasOwn(ERROR_REGISTRY, code) ? ERROR_REGISTRY[code as ServiceErrorCode] : undefined;
}

export interface ErrorBody {
  /** `/errors#<code>`: a full-path relative reference (RFC 9457 §3.1.1) into docs/errors.md, served by the agent at GET /errors. */
  type: string;
  /** The table's fixed message for the code. */
  title: string;
  status: number;
  /** How to fix it (the table's `fix`): fixed text, never input. */
  detail: string;
  code: string;
  ticketApi?: { name: string; value: string };
  issues?: { path: string; message: string }[];
  /** ERR_PIN_BACKOFF: how long until the next PIN try is accepted (also sent as `Retry-After`, seconds). */
  retryAfterMs?: number;
}

/** RFC 9457's media type for {@link ErrorBody}. */
export const PROBLEM_JSON = 'application/problem+json';

/** The problem type URI of a code: a relative reference with the full path, resolved against the agent. */
export function problemType(code: string): string {
  return `/errors#${code}`;
}

const INTERNAL = 'ERR_INTERNAL';

/**
 * The response status and RFC 9457 problem body for any error. Never includes a cause, a stack or input:
 * `title` and `detail` are the registry's fixed texts for the code.
 */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  const known = isServiceError(err) ? errorSpec(err.code) : undefined;
  const code = known ? (err as ServiceError).code : INTERNAL;
  const spec = known ?? errorSpec(INTERNAL);
  if (spec === undefined) {
    throw new Error('the registry has no ERR_INTERNAL');
  }
  const detail = known ? (err as ServiceError).detail : undefined;
  // A known 5xx shows its code and fixed texts only; a 4xx may add the field issues (paths, no input).
  const issues = spec.status < 500 ? (detail?.issues as ErrorBody['issues']) : undefined;
  const ticketApi = TICKET_API[code];
  const retryAfterMs = detail?.retryAfterMs;
  return {
    status: spec.status,
    body: {
      type: problemType(code),
      title: spec.message,
      status: spec.status,
      detail: spec.fix,
      code,
      ...(ticketApi ? { ticketApi } : {}),
      ...(issues ? { issues } : {}),
      ...(typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)
        ? { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) }
        : {}),
    },
  };
}
