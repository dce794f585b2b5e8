/**
 * The prescriber rule on the selected Spine role (issue 13 §2): signing a prescription needs a role whose job
 * role can prescribe. Rules:
 * - the allowed list holds RBAC job role codes (`R8000`) and/or job role names (`Nurse Access Role`), compared
 *   case-insensitively; `*` allows any role;
 * - a role matches by its job role name (the broker's role list, third level of `"L1":"L2":"L3"`) or by any
 *   `Rnnnn` part of its job role code (`S8000:G8000:R8000`, SAML nhsJobRoleCode);
 * - no role at all is the separate ERR_SIGN_NO_ROLE rule.
 */

/**
 * The default prescribing job roles (NHS national RBAC database job roles that carry prescribing: the clinical
 * access roles seen in Spine role assertions, e.g. `S8000:G8000:R8003`, and the older GP job roles). Each is
 * listed by code and by name, because the broker's role list gives names and role assertions give codes.
 */
export const DEFAULT_PRESCRIBER_ROLES: readonly string[] = Object.freeze([
  'R8000',
  'Clinical Practitioner Access Role',
  'Medical Practitioner Access Role',
  'R8001',
  'Nurse Access Role',
  'R8003',
  'Health Professional Access Role',
  'R0260',
  'General Medical Practitioner',
  'R0270',
  'Salaried General Practitioner',
]);

/** What the rule knows of the selected role. */
export interface RoleFacts {
  /** Job role name, e.g. `Clinical Practitioner Access Role`. */
  readonly jobRole?: string;
  /** Job role code, e.g. `S8000:G8000:R8000`. */
  readonly jobRoleCode?: string;
}

/**
 * True when the role's job role is in `allowed` (or `allowed` holds `*`).
 *
 * @example
 * ```ts
 * isPrescriberRole({ jobRole: 'Nurse Access Role' }, DEFAULT_PRESCRIBER_ROLES); // true
 * isPrescriberRole({ jobRoleCode: 'S8001:G8001:R8009' }, DEFAULT_PRESCRIBER_ROLES); // false
 * ```
 */
export function isPrescriberRole(role: RoleFacts, allowed: readonly string[]): boolean {
  const wanted = new Set(allowed.map((a) => a.trim().toLowerCase()));
  if (wanted.has('*')) {
    return true;
  }
  const names = [role.jobRole ?? '', ...(role.jobRoleCode ?? '').split(':')]
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  return names.some((n) => wanted.has(n));
}
