/**
 * The role lines of the authvalidate reply (docs/protocol/cis-login.md §1.4):
 * `<gpPARAM name="nhsjobroleN" id="<role profile id>" orgcode="<org code>"><org name>, "L1":"L2":"L3"</gpPARAM>`.
 *
 * Rules this file enforces:
 * - The org name may contain commas and `&`; the line is split at the LAST `, "` that starts the quoted
 *   `"L1":"L2":"L3"` part (the PoC's split on the first comma breaks, §1.4).
 * - `id` is required; `orgcode` is optional (the older HIPPO template has none, §1.4).
 * - Roles are returned in the order of N, not of the document.
 */
import { wireError } from './errors.js';
import type { GpParam } from './gpobject.js';

/** One role profile as the authvalidate reply lists it. */
export interface AuthRole {
  /** Role profile `uniqueIdentifier` (12 digits); SAML `uniqueIdentifier`. */
  readonly id: string;
  /** `orgcode` (SAML `nhsIdCode`); absent in older replies. */
  readonly orgCode?: string;
  /** SAML `o`. */
  readonly orgName: string;
  /** The three levels of `"L1":"L2":"L3"`. */
  readonly jobRole: readonly [string, string, string];
  /** `"L1":"L2":"L3"` exactly as written (SAML `nhsJobRole`). */
  readonly jobRoleText: string;
}

const ROLE_TEXT = /^([\s\S]*), ("([^"]*)":"([^"]*)":"([^"]*)")\s*$/;
const ROLE_NAME = /^nhsjobrole(\d{1,4})$/;
const JOB_ROLE = /^"([^"]*)":"([^"]*)":"([^"]*)"$/;

/**
 * Splits `"L1":"L2":"L3"` into its three levels; throws `ERR_WIRE_ROLE_MALFORMED` otherwise.
 *
 * @example
 * ```ts
 * splitJobRole('"Clinical":"Clinical Provision":"Nurse Access Role"'); // ['Clinical', 'Clinical Provision', 'Nurse Access Role']
 * ```
 */
export function splitJobRole(text: string): [string, string, string] {
  const m = JOB_ROLE.exec(text);
  if (!m) {
    throw wireError('ERR_WIRE_ROLE_MALFORMED', {
      detail: { reason: 'job role not "L1":"L2":"L3"' },
    });
  }
  return [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
}

/**
 * Parses one role line's text and attributes.
 *
 * @example
 * ```ts
 * parseRoleLine('SAHA SN & DE G, "Admin & Clerical":"Admin":"Registration Authority Agent"', { id: '102048850986', orgcode: 'B81108' });
 * // { id: '102048850986', orgCode: 'B81108', orgName: 'SAHA SN & DE G', jobRole: ['Admin & Clerical', 'Admin', 'Registration Authority Agent'], … }
 * ```
 */
export function parseRoleLine(
  value: string,
  attributes: Readonly<Record<string, string>>,
): AuthRole {
  const id = attributes.id;
  if (id === undefined || id === '') {
    throw wireError('ERR_WIRE_ROLE_MALFORMED', { detail: { reason: 'no id attribute' } });
  }
  const m = ROLE_TEXT.exec(value.trim());
  if (!m) {
    throw wireError('ERR_WIRE_ROLE_MALFORMED', {
      detail: { reason: 'no ", \\"L1\\":\\"L2\\":\\"L3\\"" part' },
    });
  }
  const orgName = (m[1] ?? '').trim();
  const jobRoleText = m[2] ?? '';
  const role: AuthRole = {
    id,
    orgName,
    jobRole: [m[3] ?? '', m[4] ?? '', m[5] ?? ''],
    jobRoleText,
  };
  const orgCode = attributes.orgcode;
  return orgCode === undefined ? role : { ...role, orgCode };
}

/**
 * Collects the `nhsjobroleN` parameters of an authvalidate reply, ordered by N. Zero roles is valid (§1.4).
 *
 * @example
 * ```ts
 * const roles = parseRoles(parseGpObject(replyText));
 * roles.length; // 40 for the INT 2017 capture
 * ```
 */
export function parseRoles(params: readonly GpParam[]): AuthRole[] {
  const indexed: { n: number; role: AuthRole }[] = [];
  for (const p of params) {
    const m = ROLE_NAME.exec(p.name);
    if (!m) {
      continue;
    }
    indexed.push({ n: Number(m[1]), role: parseRoleLine(p.value, p.attributes) });
  }
  return indexed.sort((a, b) => a.n - b.n).map((x) => x.role);
}

/**
 * The text of a role line: `<org name>, "L1":"L2":"L3"` (the inverse of {@link parseRoleLine}).
 *
 * @example
 * ```ts
 * formatRoleText('THE DENSHAM SURGERY', '"Clinical":"Clinical Provision":"Nurse Access Role"');
 * ```
 */
export function formatRoleText(orgName: string, jobRoleText: string): string {
  return `${orgName}, ${jobRoleText}`;
}
