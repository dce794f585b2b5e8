/**
 * The one error hierarchy of rxsign.
 *
 * Every failure that crosses a folder boundary is a {@link ServiceError} with a stable string `code`
 * (`ERR_PKCS11_PIN_INCORRECT`, `ERR_CMS_SIGNATURE_INVALID`, …). Each folder owns its codes in its own
 * `errors.ts` as an {@link ErrorTable}; `src/api/error-registry.ts` merges the tables into the one registry
 * that maps a code to an HTTP status and a public message (and `docs/errors.md` documents them).
 *
 * Messages are fixed strings: the table's message is the only message an error carries. It never echoes input
 * (which may be a PIN, a ticket or a document) and never carries a library's raw text. What varies (the field
 * or variable at fault, a path, a CKR name) goes into `detail`, which only the log and the CLI read; the
 * library error, where there is one, is kept as `cause` for the logs. Build errors with the folder's factory
 * ({@link errorFactory}), never with `new ServiceError` and a message of your own.
 *
 * @example
 * ```ts
 * throw pkcs11Error('ERR_PKCS11_PIN_INCORRECT', { cause: err });
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

/** What a caller may add to an error: the library error (`cause`) and context for the log (`detail`). */
export interface ErrorOptions {
  readonly cause?: unknown;
  readonly detail?: Record<string, unknown>;
}

/** A folder's error constructor, as made by {@link errorFactory}. */
export type ErrorFactory<C extends string> = (code: C, options?: ErrorOptions) => ServiceError<C>;

/**
 * The one error factory: a folder makes its own constructor from its table, so that the same code always
 * says the same thing (the table's message) and a code outside the table does not type-check.
 *
 * @example
 * ```ts
 * export const pkcs11Error = errorFactory(PKCS11_ERRORS);
 * throw pkcs11Error('ERR_PKCS11_PIN_LOCKED', { cause });
 * ```
 */
export function errorFactory<C extends string>(table: ErrorTable<C>): ErrorFactory<C> {
  return (code, options = {}) => new ServiceError(code, table[code].message, options);
}
