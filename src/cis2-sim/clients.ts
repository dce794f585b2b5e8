/**
 * The simulator's clients file: the relying parties registered with it.
 *
 * Rules this file enforces:
 * - The file is a JSON array of `{ client_id, redirect_uris, jwks | client_secret, backchannel_logout_uri?,
 *   post_logout_redirect_uris?, token_endpoint_auth_method?, client_name? }` (docs/cis2-sign-in.md).
 * - Exactly one of `jwks` (→ `private_key_jwt`, RS256 or RS512) or `client_secret` (→ `client_secret_basic` or
 *   `client_secret_post`); `jwks` holds RSA public keys only.
 * - Every URI is an absolute http(s) URL without a fragment; `client_id` values are unique.
 * - An unknown field is an error. Every error names the entry (index and client_id) and the field, never a
 *   value (a client secret must not reach a log).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ServiceError } from '../errors.js';
import { cis2SimError } from './errors.js';

const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (
        (u.protocol === 'https:' || u.protocol === 'http:') && u.hash === '' && !v.includes('#')
      );
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without a fragment');

const rsaPublicJwk = z
  .object({
    kty: z.literal('RSA'),
    n: z.string().min(1),
    e: z.string().min(1),
    kid: z.string().min(1).max(256).optional(),
    alg: z.enum(['RS256', 'RS512']).optional(),
    use: z.literal('sig').optional(),
  })
  .strict();

const clientSchema = z
  .object({
    client_id: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1 to 128 letters, digits or . _ : -'),
    client_name: z.string().min(1).max(256).optional(),
    redirect_uris: z.array(httpUrl).min(1).max(32),
    post_logout_redirect_uris: z.array(httpUrl).max(32).optional(),
    backchannel_logout_uri: httpUrl.optional(),
    jwks: z
      .object({ keys: z.array(rsaPublicJwk).min(1).max(16) })
      .strict()
      .optional(),
    client_secret: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
    token_endpoint_auth_method: z
      .enum(['private_key_jwt', 'client_secret_basic', 'client_secret_post'])
      .optional(),
  })
  .strict();

export type Cis2ClientEntry = z.infer<typeof clientSchema>;

/** oidc-provider client metadata (plain JSON; the provider's own types stay in provider.ts). */
export type ClientMetadata = Record<string, unknown> & { client_id: string };

function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * ERR_CIS2_SIM_CLIENTS_INVALID with the table's message; what varies (the entry, its client_id when printable,
 * the field and the rule broken) goes into `detail.field`, which the CLI prints after the message.
 */
function invalid(index: number, clientId: unknown, field: string, rule: string): ServiceError {
  const who =
    typeof clientId === 'string' && /^[\x21-\x7e]{1,128}$/.test(clientId) ? ` (${clientId})` : '';
  return cis2SimError('ERR_CIS2_SIM_CLIENTS_INVALID', {
    detail: { index, field: `entry [${index}]${who} ${field}: ${rule}` },
  });
}

function rule(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field ${issue.keys.join(', ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return 'too short or empty';
    case 'too_big':
      return 'too long';
    default:
      return issue.message;
  }
}

/**
 * Validates parsed clients-file JSON into oidc-provider client metadata. Throws
 * `ERR_CIS2_SIM_CLIENTS_INVALID` naming the entry and the field.
 *
 * @example
 * ```ts
 * const clients = parseClients([{ client_id: 'app', redirect_uris: ['http://127.0.0.1:3000/cb'],
 *   client_secret: 'a-long-enough-secret' }]);
 * ```
 */
export function parseClients(json: unknown): ClientMetadata[] {
  if (!Array.isArray(json)) {
    throw cis2SimError('ERR_CIS2_SIM_CLIENTS_INVALID', {
      detail: { field: 'the file must hold a JSON array of clients' },
    });
  }
  if (json.length === 0 || json.length > 1000) {
    throw cis2SimError('ERR_CIS2_SIM_CLIENTS_INVALID', {
      detail: { field: 'the file must list 1 to 1000 clients' },
    });
  }
  const seen = new Set<string>();
  return json.map((raw: unknown, index) => {
    const clientId = (raw as { client_id?: unknown } | null)?.client_id;
    const r = clientSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      const field = issue ? pathText(issue.path) || '(entry)' : '(entry)';
      throw invalid(index, clientId, field, issue ? rule(issue) : 'invalid');
    }
    const c = r.data;
    if (seen.has(c.client_id)) {
      throw invalid(index, clientId, 'client_id', 'duplicate');
    }
    seen.add(c.client_id);
    if ((c.jwks === undefined) === (c.client_secret === undefined)) {
      throw invalid(
        index,
        clientId,
        'jwks/client_secret',
        'give exactly one of jwks or client_secret',
      );
    }
    const method =
      c.token_endpoint_auth_method ?? (c.jwks ? 'private_key_jwt' : 'client_secret_basic');
    if ((method === 'private_key_jwt') !== (c.jwks !== undefined)) {
      throw invalid(
        index,
        clientId,
        'token_endpoint_auth_method',
        c.jwks ? 'must be private_key_jwt with jwks' : 'private_key_jwt needs jwks',
      );
    }
    return {
      client_id: c.client_id,
      ...(c.client_name ? { client_name: c.client_name } : {}),
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
      ...(c.backchannel_logout_uri
        ? {
            backchannel_logout_uri: c.backchannel_logout_uri,
            backchannel_logout_session_required: true,
          }
        : {}),
      ...(c.jwks ? { jwks: c.jwks } : { client_secret: c.client_secret }),
      token_endpoint_auth_method: method,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    };
  });
}

/**
 * Reads and validates a clients file. Throws `ERR_CIS2_SIM_CLIENTS_UNREADABLE` or
 * `ERR_CIS2_SIM_CLIENTS_INVALID`.
 *
 * @example
 * ```ts
 * const clients = loadClientsFile('clients.json');
 * ```
 */
export function loadClientsFile(path: string): ClientMetadata[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw cis2SimError('ERR_CIS2_SIM_CLIENTS_UNREADABLE', { cause });
  }
  return parseClients(json);
}
