/**
 * The one registry: every folder's error table merged, each code mapped to its HTTP status and public
 * message; and the one function that builds an error response body (STYLE 11–12). Exposed errors become
 * `{ code, message, … }`; anything unknown becomes ERR_INTERNAL with no detail.
 */
import { AUDIT_ERRORS } from '../audit/errors.js';
import { AUTH_ERRORS, TICKET_API } from '../auth/errors.js';
import { WIRE_ERRORS } from '../auth/wire/errors.js';
import { CMS_ERRORS } from '../cms/errors.js';
import { isServiceError, type ErrorSpec, type ServiceError } from '../errors.js';
import { PKCS11_ERRORS } from '../pkcs11/index.js';
import { PRESCRIPTION_ERRORS } from '../prescription/errors.js';
import { SIGN_ERRORS } from '../signing/errors.js';
import { LISTEN_ERRORS } from '../net.js';
import { RUNTIME_ERRORS } from '../runtime.js';
import { SPINE_SIM_ERRORS } from '../spine-sim/errors.js';
import { API_ERRORS } from './errors.js';

export const ERROR_REGISTRY: Readonly<Record<string, ErrorSpec>> = Object.freeze({
  ...PKCS11_ERRORS,
  ...CMS_ERRORS,
  ...PRESCRIPTION_ERRORS,
  ...SIGN_ERRORS,
  ...AUDIT_ERRORS,
  ...WIRE_ERRORS,
  ...AUTH_ERRORS,
  ...SPINE_SIM_ERRORS,
  ...RUNTIME_ERRORS,
  ...LISTEN_ERRORS,
  ...API_ERRORS,
});

export interface ErrorBody {
  code: string;
  message: string;
  ticketApi?: { name: string; value: string };
  issues?: { path: string; message: string }[];
}

/** The response status and body for any error. Never includes a cause, a stack or input. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  const spec = isServiceError(err) ? ERROR_REGISTRY[err.code] : undefined;
  if (spec === undefined) {
    return { status: 500, body: { code: 'ERR_INTERNAL', message: 'internal error' } };
  }
  const { code, detail } = err as ServiceError;
  // A known 5xx shows its code and fixed message only; a 4xx may add the field issues (paths, no input).
  const issues = spec.status < 500 ? (detail?.issues as ErrorBody['issues']) : undefined;
  const ticketApi = TICKET_API[code];
  return {
    status: spec.status,
    body: {
      code,
      message: spec.message,
      ...(ticketApi ? { ticketApi } : {}),
      ...(issues ? { issues } : {}),
    },
  };
}
