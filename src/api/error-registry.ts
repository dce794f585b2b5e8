/**
 * The one registry: every folder's error table merged, each code mapped to its HTTP status and public
 * message; and the one function that builds an error response body (STYLE 11–12). Exposed errors become
 * `{ code, message, … }`; anything unknown becomes ERR_INTERNAL with no detail.
 */
import { AUDIT_ERRORS } from '../audit/errors.js';
import { AUTH_ERRORS, TICKET_API } from '../auth/errors.js';
import { WIRE_ERRORS } from '../auth/wire/errors.js';
import { CMS_ERRORS } from '../cms/errors.js';
import { isServiceError, type ErrorSpec } from '../errors.js';
import { PKCS11_ERRORS } from '../pkcs11/index.js';
import { PRESCRIPTION_ERRORS } from '../prescription/errors.js';
import { SIGN_ERRORS } from '../signing/errors.js';
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
  if (isServiceError(err)) {
    const spec = ERROR_REGISTRY[err.code];
    if (spec && spec.status < 500) {
      const ticketApi = TICKET_API[err.code];
      const issues = (err.detail?.issues as ErrorBody['issues']) ?? undefined;
      return {
        status: spec.status,
        body: { code: err.code, message: spec.message, ...(ticketApi ? { ticketApi } : {}), ...(issues ? { issues } : {}) },
      };
    }
    if (spec) {
      // 5xx with a known code: the code and fixed message are safe to show (no detail).
      const ticketApi = TICKET_API[err.code];
      return { status: spec.status === 500 ? 500 : spec.status, body: { code: err.code, message: spec.message, ...(ticketApi ? { ticketApi } : {}) } };
    }
  }
  return { status: 500, body: { code: 'ERR_INTERNAL', message: 'internal error' } };
}
