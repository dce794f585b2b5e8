/**
 * The SSB SAML 1.1 role assertion (docs/protocol/cis-login.md §3): `GET /saml/RoleAssertion?token=…`.
 *
 * Rules this file enforces:
 * - Safe parse: a document with `<!DOCTYPE` or `<!ENTITY` is refused before any parsing (the SSB never sends
 *   one), as is any parser error or warning; size is bounded.
 * - `samlp:StatusCode` must be `samlp:Success`, else `ERR_WIRE_SAML_STATUS`.
 * - Only the `saml:Attribute` children of the outer `saml:AttributeStatement` count.
 * - Person attributes (`cn`, `uid`, `ssbSessionRoleUid`, `ssbMode`, `nhsOcsPrCode`) are read wherever they
 *   appear; a new role block starts at each `nhsIdCode` (§3); role attributes seen before the first
 *   `nhsIdCode` belong to the first block; a single-valued role attribute repeated in one block is malformed.
 * - Each block needs `nhsIdCode`, `uniqueIdentifier`, `o`, `nhsJobRole`, `nhsJobRoleCode`.
 * - The generator writes the observed shape: `ResponseID="null"`, NotBefore = IssueInstant − 3 min,
 *   NotOnOrAfter = IssueInstant + 1 min, no XML signature (none of the samples is signed).
 */
import { randomBytes } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { wireError } from './errors.js';

const SAML_NS = 'urn:oasis:names:tc:SAML:1.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:1.0:protocol';
const ATTR_NS = 'http://www.syntegra.com';

/** Upper bound on an assertion document. */
export const MAX_SAML_LENGTH = 512 * 1024;

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

/** A parsed role assertion with its timing (ISO strings as written). */
export interface ParsedRoleAssertion extends RoleAssertion {
  readonly issueInstant: string;
  readonly notBefore: string;
  readonly notOnOrAfter: string;
}

const PERSON = new Set([
  'cn',
  'uid',
  'ssbSessionRoleUid',
  'ssbMode',
  'nhsOcsPrCode',
  'ssbAssertionVersion',
]);
const ROLE_SINGLE: Readonly<
  Record<string, 'uniqueIdentifier' | 'nhsIdCode' | 'o' | 'nhsJobRole' | 'nhsJobRoleCode'>
> = {
  uniqueIdentifier: 'uniqueIdentifier',
  nhsIdCode: 'nhsIdCode',
  nhsIDCode: 'nhsIdCode',
  o: 'o',
  nhsJobRole: 'nhsJobRole',
  nhsJobRoleCode: 'nhsJobRoleCode',
};
type ListKey =
  | 'businessFunctions'
  | 'businessFunctionCodes'
  | 'areasOfWork'
  | 'areaOfWorkCodes'
  | 'workGroups'
  | 'workGroupCodes';
const ROLE_LIST: Readonly<Record<string, ListKey>> = {
  nhsBusinessFunctions: 'businessFunctions',
  nhsBusinessFunctionsCodes: 'businessFunctionCodes',
  nhsAreaOfWork: 'areasOfWork',
  nhsAreaOfWorkCodes: 'areaOfWorkCodes',
  nhsWorkGroups: 'workGroups',
  nhsWorkGroupsCodes: 'workGroupCodes',
};

interface BlockDraft {
  single: Partial<
    Record<'uniqueIdentifier' | 'nhsIdCode' | 'o' | 'nhsJobRole' | 'nhsJobRoleCode', string>
  >;
  lists: Record<ListKey, string[]>;
}

function emptyBlock(): BlockDraft {
  return {
    single: {},
    lists: {
      businessFunctions: [],
      businessFunctionCodes: [],
      areasOfWork: [],
      areaOfWorkCodes: [],
      workGroups: [],
      workGroupCodes: [],
    },
  };
}

function malformed(reason: string, cause?: unknown): never {
  throw wireError(
    'ERR_WIRE_SAML_MALFORMED',
    cause === undefined ? { detail: { reason } } : { cause, detail: { reason } },
  );
}

function safeParse(xml: string): Document {
  if (xml.length > MAX_SAML_LENGTH) {
    malformed('too long');
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw wireError('ERR_WIRE_SAML_FORBIDDEN_DTD');
  }
  const problems: string[] = [];
  const parser = new DOMParser({
    errorHandler: {
      warning: (m: string) => problems.push(m),
      error: (m: string) => problems.push(m),
      fatalError: (m: string) => problems.push(m),
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(xml, 'text/xml');
  } catch (cause) {
    return malformed('not XML', cause);
  }
  if (problems.length > 0 || !doc.documentElement) {
    malformed('not well-formed XML');
  }
  return doc;
}

function children(el: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const e = n as Element;
      if (e.namespaceURI === ns && e.localName === local) {
        out.push(e);
      }
    }
  }
  return out;
}

function only(el: Element, ns: string, local: string): Element {
  const found = children(el, ns, local);
  const first = found[0];
  if (found.length !== 1 || first === undefined) {
    return malformed(`expected one ${local}`);
  }
  return first;
}

/**
 * Parses a RoleAssertion response (both captured samples, and {@link buildRoleAssertion} output).
 * Throws `ERR_WIRE_SAML_FORBIDDEN_DTD`, `ERR_WIRE_SAML_STATUS` or `ERR_WIRE_SAML_MALFORMED`.
 *
 * @example
 * ```ts
 * const a = parseRoleAssertion(xml);
 * a.roles.find((r) => r.uniqueIdentifier === a.ssbSessionRoleUid);
 * ```
 */
export function parseRoleAssertion(xml: string): ParsedRoleAssertion {
  const doc = safeParse(xml);
  const root = doc.documentElement;
  if (root.namespaceURI !== SAMLP_NS || root.localName !== 'Response') {
    malformed('root is not samlp:Response');
  }
  const status =
    only(only(root, SAMLP_NS, 'Status'), SAMLP_NS, 'StatusCode').getAttribute('Value') ?? '';
  if (!/:Success$/.test(status)) {
    throw wireError('ERR_WIRE_SAML_STATUS', { detail: { status: status.slice(0, 64) } });
  }
  const assertion = only(root, SAML_NS, 'Assertion');
  const conditions = only(assertion, SAML_NS, 'Conditions');
  const statement = only(assertion, SAML_NS, 'AttributeStatement');

  const person: Record<string, string> = {};
  const blocks: BlockDraft[] = [];
  let pending: BlockDraft | undefined;
  for (const attr of children(statement, SAML_NS, 'Attribute')) {
    const name = attr.getAttribute('AttributeName') ?? '';
    const values = children(attr, SAML_NS, 'AttributeValue').map((v) =>
      (v.textContent ?? '').trim(),
    );
    if (PERSON.has(name)) {
      if (name in person) {
        malformed(`repeated ${name}`);
      }
      person[name] = values[0] ?? '';
      continue;
    }
    const single = ROLE_SINGLE[name];
    const list = ROLE_LIST[name];
    if (single === undefined && list === undefined) {
      continue; // unknown attributes are ignored, not guessed at
    }
    if (single === 'nhsIdCode') {
      const block: BlockDraft = blocks.length === 0 && pending ? pending : emptyBlock();
      pending = undefined;
      blocks.push(block);
    }
    const current = blocks[blocks.length - 1] ?? (pending ??= emptyBlock());
    if (single !== undefined) {
      if (current.single[single] !== undefined) {
        malformed(`repeated ${name} in one role block`);
      }
      current.single[single] = values[0] ?? '';
    } else if (list !== undefined) {
      current.lists[list].push(...values);
    }
  }
  if (pending) {
    malformed('role attributes without nhsIdCode');
  }
  const roles = blocks.map((b): SamlRole => {
    const { uniqueIdentifier, nhsIdCode, o, nhsJobRole, nhsJobRoleCode } = b.single;
    if (
      uniqueIdentifier === undefined ||
      nhsIdCode === undefined ||
      o === undefined ||
      nhsJobRole === undefined ||
      nhsJobRoleCode === undefined
    ) {
      return malformed('role block misses a required attribute');
    }
    return { uniqueIdentifier, nhsIdCode, o, nhsJobRole, nhsJobRoleCode, ...b.lists };
  });
  const { uid, cn, ssbSessionRoleUid, ssbMode, nhsOcsPrCode } = person;
  if (uid === undefined || cn === undefined || ssbSessionRoleUid === undefined) {
    malformed('person block misses uid, cn or ssbSessionRoleUid');
  }
  return {
    uid,
    cn,
    ssbSessionRoleUid,
    ...(ssbMode === undefined ? {} : { ssbMode }),
    ...(nhsOcsPrCode === undefined ? {} : { nhsOcsPrCode }),
    roles,
    issueInstant: assertion.getAttribute('IssueInstant') ?? '',
    notBefore: conditions.getAttribute('NotBefore') ?? '',
    notOnOrAfter: conditions.getAttribute('NotOnOrAfter') ?? '',
  };
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
