/**
 * The SSB SAML 1.1 role assertion the simulator serves (docs/protocol/cis-login.md §3): `GET /saml/RoleAssertion?token=…`.
 * The agent never reads this document (it uses the Ticket API and the gpOBJECT replies); the parser that
 * checks what this file writes lives with the tests (test/helpers/saml.ts).
 *
 * Rules this file enforces:
 * - The generator writes the observed shape: `ResponseID="null"`, NotBefore = IssueInstant − 3 min,
 *   NotOnOrAfter = IssueInstant + 1 min, no XML signature (none of the samples is signed); every value is
 *   XML-escaped.
 * - A new role block starts at each `nhsIdCode` (§3), which the generator writes first in each block.
 */
import { randomBytes } from 'node:crypto';

export const SAML_NS = 'urn:oasis:names:tc:SAML:1.0:assertion';
export const SAMLP_NS = 'urn:oasis:names:tc:SAML:1.0:protocol';
export const ATTR_NS = 'http://www.syntegra.com';

/** One job role profile block. Lists are empty when absent. */
export interface SamlRole {
  readonly uniqueIdentifier: string;
  readonly nhsIdCode: string;
  readonly o: string;
  readonly nhsJobRole: string;
  readonly nhsJobRoleCode: string;
  readonly businessFunctions: readonly string[];
  readonly businessFunctionCodes: readonly string[];
  readonly areasOfWork: readonly string[];
  readonly areaOfWorkCodes: readonly string[];
  readonly workGroups: readonly string[];
  readonly workGroupCodes: readonly string[];
}

/** The data of a role assertion. */
export interface RoleAssertion {
  readonly uid: string;
  readonly cn: string;
  readonly ssbSessionRoleUid: string;
  readonly ssbMode?: string;
  readonly nhsOcsPrCode?: string;
  readonly roles: readonly SamlRole[];
}

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function instant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function assertionId(): string {
  // 41 characters, like the samples (40 hex + one letter).
  return `${randomBytes(20).toString('hex')}${'abcdefghijklmnopqrstuvwxyz'[(randomBytes(1)[0] ?? 0) % 26] ?? 'a'}`;
}

/** What the generator needs beyond the assertion data. */
export interface RoleAssertionContext {
  /** The SSO ticket (goes into the inner SubjectConfirmationData). */
  readonly ticket: string;
  /** Unix ms. */
  readonly issueInstant: number;
  /** Unix ms of the login. */
  readonly authenticationInstant: number;
  /** Client IP (`Recipient`, `SubjectLocality/@IPAddress`). */
  readonly recipient: string;
  /** Default `http://iam-careid-development:8080` (the 2015/2018 samples). */
  readonly issuer?: string;
}

/**
 * Writes a RoleAssertion response in the observed shape (§3): person block, `ssbSessionRoleUid`, one block
 * per role.
 *
 * @example
 * ```ts
 * const xml = buildRoleAssertion(
 *   { uid: '555000000001', cn: 'Prescriber One', ssbSessionRoleUid: '555000000101', ssbMode: '0', roles },
 *   { ticket, issueInstant: Date.now(), authenticationInstant: loginAt, recipient: '127.0.0.1' },
 * );
 * ```
 */
export function buildRoleAssertion(data: RoleAssertion, ctx: RoleAssertionContext): string {
  const issuer = ctx.issuer ?? 'http://iam-careid-development:8080';
  const at = instant(ctx.issueInstant);
  const nb = instant(ctx.issueInstant - 3 * 60_000);
  const na = instant(ctx.issueInstant + 60_000);
  const nameId = `uid=${esc(data.uid)},ou=People,o=nhs`;
  const attr = (name: string, values: readonly string[]): string =>
    values.length === 0
      ? ''
      : `            <saml:Attribute AttributeName="${name}" AttributeNamespace="${ATTR_NS}">\n${values
          .map((v) => `                <saml:AttributeValue>${esc(v)}</saml:AttributeValue>\n`)
          .join('')}            </saml:Attribute>\n`;
  const one = (name: string, value: string | undefined): string =>
    value === undefined ? '' : attr(name, [value]);
  let attrs = one('ssbAssertionVersion', '1.1') + one('cn', data.cn) + one('uid', data.uid);
  attrs +=
    one('nhsOcsPrCode', data.nhsOcsPrCode) +
    one('ssbSessionRoleUid', data.ssbSessionRoleUid) +
    one('ssbMode', data.ssbMode);
  for (const r of data.roles) {
    attrs +=
      one('nhsIdCode', r.nhsIdCode) +
      one('o', r.o) +
      attr('nhsAreaOfWork', r.areasOfWork) +
      attr('nhsAreaOfWorkCodes', r.areaOfWorkCodes) +
      attr('nhsBusinessFunctions', r.businessFunctions) +
      attr('nhsBusinessFunctionsCodes', r.businessFunctionCodes) +
      one('nhsJobRole', r.nhsJobRole) +
      one('uniqueIdentifier', r.uniqueIdentifier) +
      one('nhsJobRoleCode', r.nhsJobRoleCode) +
      attr('nhsWorkGroups', r.workGroups) +
      attr('nhsWorkGroupsCodes', r.workGroupCodes);
  }
  const ip = esc(ctx.recipient);
  return `<samlp:Response xmlns:samlp="${SAMLP_NS}" ResponseID="null" InResponseTo="null" MajorVersion="1" MinorVersion="1" IssueInstant="${at}" Recipient="${ip}">
    <samlp:Status>
        <samlp:StatusCode Value="samlp:Success"/>
    </samlp:Status>
    <saml:Assertion xmlns:saml="${SAML_NS}" MajorVersion="1" MinorVersion="1" AssertionID="${assertionId()}" Issuer="${esc(issuer)}" IssueInstant="${at}">
        <saml:Conditions NotBefore="${nb}" NotOnOrAfter="${na}"/>
        <saml:AttributeStatement>
            <saml:Subject>
                <saml:NameIdentifier NameQualifier="o=nhs">${nameId}</saml:NameIdentifier>
                <saml:SubjectConfirmation>
                    <saml:ConfirmationMethod>urn:com:sun:identity</saml:ConfirmationMethod>
                    <saml:SubjectConfirmationData>
                        <saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="${assertionId()}" Issuer="${esc(issuer)}" IssueInstant="${at}">
                            <saml:Conditions NotBefore="${nb}" NotOnOrAfter="${na}"/>
                            <saml:AuthenticationStatement AuthenticationInstant="${instant(ctx.authenticationInstant)}" AuthenticationMethod="urn:com:sun:identity:ExtendedLoginModule">
                                <saml:Subject>
                                    <saml:NameIdentifier NameQualifier="o=nhs">${nameId}</saml:NameIdentifier>
                                    <saml:SubjectConfirmation>
                                        <saml:ConfirmationMethod>urn:com:sun:identity</saml:ConfirmationMethod>
                                        <saml:SubjectConfirmationData>${esc(ctx.ticket)}</saml:SubjectConfirmationData>
                                    </saml:SubjectConfirmation>
                                </saml:Subject>
                                <saml:SubjectLocality IPAddress="${ip}"/>
                            </saml:AuthenticationStatement>
                        </saml:Assertion>
                    </saml:SubjectConfirmationData>
                </saml:SubjectConfirmation>
            </saml:Subject>
${attrs}        </saml:AttributeStatement>
    </saml:Assertion>
</samlp:Response>
`;
}

/**
 * A SAML response that carries only a failure status and a code, for an invalid session or missing role.
 * The real SSB's failure body is not captured (§3); this shape is the simulator's choice.
 *
 * @example
 * ```ts
 * buildRoleAssertionError('INVALID_SESSION', Date.now());
 * ```
 */
export function buildRoleAssertionError(code: string, issueInstant: number): string {
  return `<samlp:Response xmlns:samlp="${SAMLP_NS}" ResponseID="null" InResponseTo="null" MajorVersion="1" MinorVersion="1" IssueInstant="${instant(issueInstant)}">
    <samlp:Status>
        <samlp:StatusCode Value="samlp:Requester"/>
        <samlp:StatusMessage>${esc(code)}</samlp:StatusMessage>
    </samlp:Status>
</samlp:Response>
`;
}
