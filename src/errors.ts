/**
 * The one error hierarchy of rxsign.
 *
 * Every failure that crosses a folder boundary is a {@link ServiceError} with a stable string `code`
 * (`ERR_PKCS11_PIN_INCORRECT`, `ERR_CMS_SIGNATURE_INVALID`, …). Each folder owns its codes in its own
 * `errors.ts` as an {@link ErrorTable}; `src/api/error-registry.ts` merges the tables into the one registry
 * that maps a code to an HTTP status and a public message (and `docs/errors.md` documents them).
 *
 * Messages are fixed strings: they never echo input (which may be a PIN, a ticket or a document) and never
 * carry a library's raw text. The library error, where there is one, is kept as `cause` for the logs.
 *
 * @example
 * ```ts
 * throw new ServiceError('ERR_PKCS11_PIN_INCORRECT', 'the PIN is incorrect', { cause: err });
 * ```
 */
export class ServiceError<C extends string = string> extends Error {
  readonly code: C;
  /** Internal context for the log (never sent to a client, never contains a secret). */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: C,
    message: string,
    options: { cause?: unknown; detail?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.detail = options.detail === undefined ? undefined : Object.freeze({ ...options.detail });
  }
}

/** What the registry knows of one code: the HTTP status, the public message, and how to fix it. */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly fix: string;
}

/** A folder's own codes. */
export type ErrorTable<C extends string> = Readonly<Record<C, ErrorSpec>>;

/** True for a {@link ServiceError} (also across realms, by shape). */
export function isServiceError(value: unknown): value is ServiceError {
  if (value instanceof ServiceError) {
    return true;
  }
  const code: unknown =
    value instanceof Error ? (value as unknown as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_');
}

/**
 * Builds a typed error from a folder's table: the message comes from the table, so that the same code
 * always says the same thing.
 *
 * @example
 * ```ts
 * const err = fromTable(PKCS11_ERRORS, 'ERR_PKCS11_PIN_LOCKED', { cause });
 * ```
 */
export function fromTable<C extends string>(
  table: ErrorTable<C>,
  code: C,
  options: { cause?: unknown; detail?: Record<string, unknown> } = {},
): ServiceError<C> {
  return new ServiceError(code, table[code].message, options);
}
