/**
 * CIS2's scopes and claims (NHS "CIS2 Authentication: scopes and claims" and "role selection" pages), built
 * from the same users file as the Security Broker simulator (docs/spine-sim.md), so one fixture serves both
 * logins.
 *
 * Rules this file enforces:
 * - the ID token carries the CIS2 fixture claims (`id_assurance_level`, `authentication_assurance_level`,
 *   `realm`, `tokenName`, `tokenType`, `auditTrackingId`) and `selected_roleid` only when the `selectedrole`
 *   scope was asked for; the other claims come from UserInfo by scope;
 * - `person_orgid` is not in the users file: it is derived from the UID and org code (stable, synthetic).
 */
import { createHash } from 'node:crypto';
import type { SimUser } from '../spine-sim/users.js';

/** Scope → claims, as CIS2 documents them (`openid` lists what the ID token carries). */
export const CIS2_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  openid: [
    'sub',
    'acr',
    'amr',
    'auth_time',
    'id_assurance_level',
    'authentication_assurance_level',
    'realm',
    'tokenName',
    'tokenType',
    'auditTrackingId',
    'selected_roleid',
  ],
  profile: ['name', 'family_name', 'given_name', 'uid'],
  email: ['email'],
  nhsperson: [
    'nhsid_useruid',
    'title',
    'idassurancelevel',
    'initials',
    'middle_names',
    'display_name',
  ],
  nationalrbacaccess: ['nhsid_nrbac_roles'],
  associatedorgs: ['nhsid_user_orgs'],
  selectedrole: ['selected_roleid'],
  professionalmemberships: [],
  organisationalmemberships: [],
};

/** The `acr` values CIS2's relying parties use. */
export const CIS2_ACR_VALUES = [
  'AAL3_ANY',
  'AAL2_OR_AAL3_ANY',
  'AAL2_ANY',
  'AAL1_USERPASS',
  'AAL3_N3_SMARTCARD',
  'AAL3_CIS2_SMARTCARD',
  'AAL3_SMARTCARD',
  'AAL3_FIDO2',
] as const;

/** How the user signed in to the simulator, kept per OP session. */
export interface SignIn {
  readonly method: 'smartcard' | 'username';
  readonly selectedRoleId: string | undefined;
  readonly acr: string;
}

function personOrgId(uid: string, orgCode: string): string {
  const h = createHash('sha256').update(`${uid}|${orgCode}`).digest();
  return (h.readBigUInt64BE(0) % 10n ** 12n).toString().padStart(12, '0');
}

/**
 * Every claim the simulator can release for `user` (oidc-provider filters by scope and use).
 *
 * @example
 * ```ts
 * const all = claimsFor(user, { method: 'smartcard', selectedRoleId: '555000000101', acr: 'AAL3_ANY' }, 'sid-1');
 * ```
 */
export function claimsFor(
  user: SimUser,
  signIn: SignIn | undefined,
  scope: string,
  auditTrackingId: string,
): Record<string, unknown> {
  const parts = user.name.trim().split(/\s+/);
  const given = parts.length > 1 ? parts.slice(0, -1).join(' ') : user.name;
  const family = parts.length > 1 ? (parts.at(-1) ?? '') : '';
  const aal = signIn?.acr.startsWith('AAL3') ? 3 : signIn?.acr.startsWith('AAL1') ? 1 : 2;
  const orgs = new Map<string, string>();
  for (const r of user.roles) {
    orgs.set(r.orgCode, r.orgName);
  }
  const selected =
    signIn?.selectedRoleId !== undefined && scope.split(' ').includes('selectedrole')
      ? { selected_roleid: signIn.selectedRoleId }
      : {};
  return {
    sub: user.uid,
    uid: user.uid,
    name: user.name,
    given_name: given,
    family_name: family,
    display_name: user.name,
    initials: parts.map((p) => p[0] ?? '').join(''),
    nhsid_useruid: user.uid,
    idassurancelevel: '3',
    id_assurance_level: 3,
    authentication_assurance_level: aal,
    realm: '/NHSIdentity/Healthcare',
    tokenName: 'id_token',
    tokenType: 'JWTToken',
    auditTrackingId,
    ...selected,
    nhsid_nrbac_roles: user.roles.map((r) => ({
      person_orgid: personOrgId(user.uid, r.orgCode),
      person_roleid: r.id,
      org_code: r.orgCode,
      role_name: r.jobRole,
      role_code: r.jobRoleCode,
      ...(r.businessFunctions ? { activities: r.businessFunctions } : {}),
      ...(r.businessFunctionCodes ? { activity_codes: r.businessFunctionCodes } : {}),
      ...(r.areasOfWork ? { aow: r.areasOfWork } : {}),
      ...(r.areaOfWorkCodes ? { aow_codes: r.areaOfWorkCodes } : {}),
      ...(r.workGroups ? { workgroups: r.workGroups } : {}),
      ...(r.workGroupCodes ? { workgroups_codes: r.workGroupCodes } : {}),
    })),
    nhsid_user_orgs: [...orgs].map(([org_code, org_name]) => ({ org_code, org_name })),
  };
}
