/**
 * The simulator's users file: who may log in, and their role profiles (the SDS stand-in).
 *
 * Rules this file enforces:
 * - The file is JSON: an array of `{ uid, name, roles: [{ id, orgCode, orgName, jobRole, jobRoleCode, … }] }`.
 * - Every object is `.strict()`: an unknown field is rejected, naming its path (e.g. `[0].roles[1].colour`).
 * - Error messages name the path and the rule, never the value (the file may be someone's fixture data).
 * - `uid` and role `id` are 1–32 digits; `jobRole` is `"L1":"L2":"L3"`; uids and role ids are unique.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { simError } from './errors.js';

const digits = z.string().regex(/^\d{1,32}$/, 'must be 1 to 32 digits');
const text = z.string().min(1).max(256);
const list = z.array(z.string().max(256)).max(256);

const roleSchema = z
  .object({
    id: digits,
    orgCode: z.string().regex(/^[A-Za-z0-9]{1,16}$/, 'must be 1 to 16 letters or digits'),
    orgName: text,
    jobRole: z.string().regex(/^"[^"]*":"[^"]*":"[^"]*"$/, 'must read "L1":"L2":"L3"'),
    jobRoleCode: text,
    businessFunctions: list.optional(),
    businessFunctionCodes: list.optional(),
    areasOfWork: list.optional(),
    areaOfWorkCodes: list.optional(),
    workGroups: list.optional(),
    workGroupCodes: list.optional(),
  })
  .strict();

const userSchema = z
  .object({
    uid: digits,
    name: text,
    nhsOcsPrCode: z.string().max(32).optional(),
    roles: z.array(roleSchema).max(1000),
  })
  .strict();

const usersSchema = z.array(userSchema).max(10_000);

export type SimRole = z.infer<typeof roleSchema>;
export type SimUser = z.infer<typeof userSchema>;

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  }
  return out.startsWith('.') ? out.slice(1) : out || '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${pathText([...issue.path, k])}: unknown field`).join('; ');
  }
  const where = pathText(issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return `${where}: expected ${issue.expected}`;
    case 'invalid_format':
      return `${where}: ${issue.message}`;
    case 'too_small':
      return `${where}: too short`;
    case 'too_big':
      return `${where}: too long`;
    default:
      return `${where}: invalid`;
  }
}

/**
 * Validates parsed users-file JSON. Throws `ERR_SPINE_SIM_USERS_INVALID` whose message names the field path.
 *
 * @example
 * ```ts
 * const users = parseUsers(JSON.parse(text));
 * ```
 */
export function parseUsers(json: unknown): SimUser[] {
  const result = usersSchema.safeParse(json);
  if (!result.success) {
    const detail = result.error.issues.slice(0, 5).map(describeIssue).join('; ');
    throw simError('ERR_SPINE_SIM_USERS_INVALID', { detail: { field: detail } });
  }
  const users = result.data;
  const uids = new Set<string>();
  const roleIds = new Set<string>();
  users.forEach((u, i) => {
    if (uids.has(u.uid)) {
      throw simError('ERR_SPINE_SIM_USERS_INVALID', { detail: { field: `[${i}].uid: duplicate` } });
    }
    uids.add(u.uid);
    u.roles.forEach((r, j) => {
      if (roleIds.has(r.id)) {
        throw simError('ERR_SPINE_SIM_USERS_INVALID', {
          detail: { field: `[${i}].roles[${j}].id: duplicate` },
        });
      }
      roleIds.add(r.id);
    });
  });
  return users;
}

/**
 * Reads and validates a users file. Throws `ERR_SPINE_SIM_USERS_UNREADABLE` or `ERR_SPINE_SIM_USERS_INVALID`.
 *
 * @example
 * ```ts
 * const users = loadUsersFile('.rxsign/softhsm/users.json');
 * ```
 */
export function loadUsersFile(path: string): SimUser[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw simError('ERR_SPINE_SIM_USERS_UNREADABLE', { cause });
  }
  return parseUsers(json);
}
