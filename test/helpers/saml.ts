/**
 * A strict parser of the SSB SAML 1.1 role assertion (docs/protocol/cis-login.md §3), for the tests that check
 * what the simulator serves (src/spine-sim/saml.ts writes it; the agent never reads it, so this lives with the
 * tests).
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
 */
import { DOMParser } from '@xmldom/xmldom';
import { errorFactory, type ErrorTable } from '../../src/errors.js';
import { SAML_NS, SAMLP_NS, type RoleAssertion, type SamlRole } from '../../src/spine-sim/index.js';

/** The parser's codes (test-only: the agent never parses a role assertion). */
const SAML_ERRORS: ErrorTable<
  'ERR_WIRE_SAML_MALFORMED' | 'ERR_WIRE_SAML_FORBIDDEN_DTD' | 'ERR_WIRE_SAML_STATUS'
> = {
  ERR_WIRE_SAML_MALFORMED: {
    status: 502,
    message: 'the SAML role assertion is malformed',
    fix: 'Check the SSB RoleAssertion endpoint (docs/protocol/cis-login.md §3).',
  },
  ERR_WIRE_SAML_FORBIDDEN_DTD: {
    status: 502,
    message: 'the SAML role assertion carries a DOCTYPE or ENTITY declaration',
    fix: 'The SSB never sends a DTD; treat the peer as hostile.',
  },
  ERR_WIRE_SAML_STATUS: {
    status: 502,
    message: 'the SSB refused the role assertion',
    fix: 'The session is invalid or no role is selected; log in again.',
  },
};
const wireError = errorFactory(SAML_ERRORS);

/** Upper bound on an assertion document. */
export const MAX_SAML_LENGTH = 512 * 1024;

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
