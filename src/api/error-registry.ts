/**
 * The one registry: every folder's error table merged, each code mapped to its HTTP status and public
 * message; and the one function that builds an error response body (docs/style.md §11–12). Exposed errors become
 * `{ code, message, … }`; anything unknown becomes ERR_INTERNAL with no detail.
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
  code: string;
  message: string;
  ticketApi?: { name: string; value: string };
  issues?: { path: string; message: string }[];
  /** ERR_PIN_BACKOFF: how long until the next PIN try is accepted (also sent as `Retry-After`, seconds). */
  retryAfterMs?: number;
}

/** The response status and body for any error. Never includes a cause, a stack or input. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  const spec = isServiceError(err) ? errorSpec(err.code) : undefined;
  if (spec === undefined) {
    return { status: 500, body: { code: 'ERR_INTERNAL', message: 'internal error' } };
  }
  const { code, detail } = err as ServiceError;
  // A known 5xx shows its code and fixed message only; a 4xx may add the field issues (paths, no input).
  const issues = spec.status < 500 ? (detail?.issues as ErrorBody['issues']) : undefined;
  const ticketApi = TICKET_API[code];
  const retryAfterMs = detail?.retryAfterMs;
  return {
    status: spec.status,
    body: {
      code,
      message: spec.message,
      ...(ticketApi ? { ticketApi } : {}),
      ...(issues ? { issues } : {}),
      ...(typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)
        ? { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) }
        : {}),
    },
  };
}
