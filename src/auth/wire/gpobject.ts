/**
 * The CIS gpOBJECT envelope (docs/protocol/cis-login.md §1.1): `<gpOBJECT>` holding one `<gpPARAM name="…">value</gpPARAM>`
 * per parameter.
 *
 * Rules this file enforces:
 * - Requests are built exactly as the real clients build them: XML declaration, the client DOCTYPE
 *   `<!DOCTYPE USER SYSTEM "gpOBJECT.DTD">`, parameters in the order of §1.2/§1.4/§1.6.
 * - Server replies are not well-formed XML (raw `&` in role text, §1.1), so the parser is a tokeniser, not an
 *   XML parser: any whitespace or indentation, attributes in either quote style, raw or entity-escaped text.
 *   No entity other than the five predefined ones and numeric references is ever expanded (no DTD is read).
 */
import { wireError } from './errors.js';

/** One parsed gpPARAM, in document order. `value` is decoded and trimmed. */
export interface GpParam {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly value: string;
}

/** One gpPARAM to write. */
export interface GpParamInput {
  readonly name: string;
  readonly value: string;
  /** Extra attributes after `name`, in insertion order (e.g. `id`, `orgcode`, `encoding`). */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** The client DOCTYPE line (§1.2). */
export const CLIENT_DOCTYPE = '<!DOCTYPE USER SYSTEM "gpOBJECT.DTD">';
/** The INT server DOCTYPE line (§1.2, §1.4). */
export const SERVER_DOCTYPE =
  '<!DOCTYPE USER SYSTEM "https://gas.nis1.national.ncrs.nhs.uk/login/dtd">';

/** Upper bound on a document the parser accepts, so a hostile peer cannot make the tokeniser work forever. */
export const MAX_GPOBJECT_LENGTH = 1024 * 1024;

export interface BuildGpObjectOptions {
  /** The DOCTYPE line; defaults to {@link CLIENT_DOCTYPE}. */
  readonly doctype?: string;
  /**
   * `escape` (default) writes `&amp;`; `raw` writes `&` unescaped in text, as the real GAS does in role lines
   * (§1.1). `<` and `>` are always escaped.
   */
  readonly ampersand?: 'escape' | 'raw';
}

function escapeText(text: string, ampersand: 'escape' | 'raw'): string {
  const amp = ampersand === 'raw' ? text : text.replace(/&/g, '&amp;');
  return amp.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * Writes a gpOBJECT document: one line per parameter, in the given order, LF line ends, no indentation.
 *
 * @example
 * ```ts
 * buildGpObject([{ name: 'service', value: 'ACTIVATION' }]);
 * // <?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE USER SYSTEM "gpOBJECT.DTD">\n<gpOBJECT>\n<gpPARAM name="service">ACTIVATION</gpPARAM>\n</gpOBJECT>\n
 * ```
 */
export function buildGpObject(
  params: readonly GpParamInput[],
  options: BuildGpObjectOptions = {},
): string {
  const ampersand = options.ampersand ?? 'escape';
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    options.doctype ?? CLIENT_DOCTYPE,
    '<gpOBJECT>',
  ];
  for (const p of params) {
    const attrs = Object.entries(p.attributes ?? {})
      .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
      .join('');
    lines.push(
      `<gpPARAM name="${escapeAttr(p.name)}"${attrs}>${escapeText(p.value, ampersand)}</gpPARAM>`,
    );
  }
  lines.push('</gpOBJECT>');
  return `${lines.join('\n')}\n`;
}

/** The identity fields every client request carries (§1.2). */
export interface ClientIdentity {
  /** `log_session_id`: 10 chars `[A-Za-z0-9]` in the PoC; echoed by the server. */
  readonly logSessionId: string;
  /** `device_id` before `,ClientIP=`. */
  readonly deviceId: string;
  readonly clientIp: string;
}

/**
 * The authactivate request body (§1.2), field for field.
 *
 * @example
 * ```ts
 * const body = buildActivateRequest({ logSessionId: 'ZtBJb9tU7T', deviceId: 'b02edd24', clientIp: '127.0.0.1' });
 * ```
 */
export function buildActivateRequest(id: ClientIdentity): string {
  return buildGpObject([
    { name: 'auth_method', value: '3' },
    { name: 'app_url', value: 'NHST' },
    { name: 'log_session_id', value: id.logSessionId },
    { name: 'device_id', value: `${id.deviceId},ClientIP=${id.clientIp}` },
    { name: 'service', value: 'ACTIVATION' },
  ]);
}

/** What authvalidate carries beyond the identity fields (§1.4). */
export interface ValidateRequestFields extends ClientIdentity {
  readonly challenge: string;
  readonly signature: string;
  readonly uid: string;
  /** The §1.3 step 5 value (see `buildAuthResponse`). */
  readonly response: string;
  /** `mobility`, default `0`. */
  readonly mobility?: string;
  /** `card_type`, default `p11`. */
  readonly cardType?: string;
}

/**
 * The authvalidate request body (§1.4), field for field.
 *
 * @example
 * ```ts
 * const body = buildValidateRequest({ ...identity, challenge, signature, uid: '555000000001', response });
 * ```
 */
export function buildValidateRequest(f: ValidateRequestFields): string {
  return buildGpObject([
    { name: 'auth_method', value: '3' },
    { name: 'app_url', value: 'NHST' },
    { name: 'log_session_id', value: f.logSessionId },
    { name: 'device_id', value: `${f.deviceId},ClientIP=${f.clientIp}` },
    { name: 'service', value: 'AUTHENTICATION' },
    { name: 'challenge', value: f.challenge },
    { name: 'signature', value: f.signature },
    { name: 'uid', value: f.uid },
    { name: 'card_type', value: f.cardType ?? 'p11' },
    { name: 'response', value: f.response, attributes: { encoding: 'base64' } },
    { name: 'mobility', value: f.mobility ?? '0' },
  ]);
}

/**
 * The logout request body (§1.6), field for field.
 *
 * @example
 * ```ts
 * const body = buildLogoutRequest({ ...identity, ticket, uid: '555000000001' });
 * ```
 */
export function buildLogoutRequest(f: ClientIdentity & { ticket: string; uid: string }): string {
  return buildGpObject([
    { name: 'service', value: 'LOGOUT' },
    { name: 'sso_ticket', value: f.ticket },
    { name: 'log_session_id', value: f.logSessionId },
    { name: 'device_id', value: `${f.deviceId},ClientIP=${f.clientIp}` },
    { name: 'uid', value: f.uid },
  ]);
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/**
 * Decodes the predefined XML entities and numeric character references; anything else (a raw `&` followed by a
 * space, an unknown `&name;`) is left as written, as the GAS writes raw `&` (§1.1).
 *
 * @example
 * ```ts
 * decodeEntities('Admin &amp; Clerical'); // 'Admin & Clerical'
 * decodeEntities('Admin & Clerical');     // 'Admin & Clerical'
 * ```
 */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const valid =
        code === 0x9 ||
        code === 0xa ||
        code === 0xd ||
        (code >= 0x20 && code <= 0xd7ff) ||
        (code >= 0xe000 && code <= 0x10ffff && code !== 0xfffe && code !== 0xffff);
      return valid ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref] ?? whole;
  });
}

// <gpPARAM ...attrs... > or <gpPARAM ... />. Quoted attribute values may contain `>`.
const PARAM_OPEN = /<gpPARAM((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/gi;
const ATTR = /([^\s=>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const CDATA = /^<!\[CDATA\[([\s\S]*)\]\]>$/;

function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(ATTR)) {
    const key = m[1];
    if (key === undefined) {
      continue;
    }
    out[key] = decodeEntities(m[2] ?? m[3] ?? '');
  }
  return out;
}

/**
 * Parses a gpOBJECT leniently (§1.1): tolerates raw `&`, any indentation, either quote style, attributes on
 * gpPARAM, CDATA values and self-closing params. Values are entity-decoded where escaped, and trimmed.
 * Throws `ERR_WIRE_GPOBJECT_MALFORMED` when there is no `<gpOBJECT>` element, a gpPARAM has no name or is
 * not closed, or the text is over {@link MAX_GPOBJECT_LENGTH}.
 *
 * @example
 * ```ts
 * const params = parseGpObject(body);
 * const ticket = gpParamMap(params).get('sso_ticket');
 * ```
 */
export function parseGpObject(text: string): GpParam[] {
  if (text.length > MAX_GPOBJECT_LENGTH) {
    throw wireError('ERR_WIRE_GPOBJECT_MALFORMED', { detail: { reason: 'too long' } });
  }
  const start = text.search(/<gpOBJECT\s*>/i);
  if (start < 0) {
    throw wireError('ERR_WIRE_GPOBJECT_MALFORMED', { detail: { reason: 'no gpOBJECT element' } });
  }
  const endMatch = /<\/gpOBJECT\s*>/i.exec(text.slice(start));
  const body = endMatch ? text.slice(start, start + endMatch.index) : text.slice(start);
  const out: GpParam[] = [];
  PARAM_OPEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = PARAM_OPEN.exec(body)) !== null) {
    const attributes = parseAttributes(m[1] ?? '');
    const name = attributes.name;
    if (name === undefined || name === '') {
      throw wireError('ERR_WIRE_GPOBJECT_MALFORMED', {
        detail: { reason: 'gpPARAM without name' },
      });
    }
    delete attributes.name;
    let raw = '';
    if (m[2] !== '/') {
      const rest = body.slice(PARAM_OPEN.lastIndex);
      const close = /<\/gpPARAM\s*>/i.exec(rest);
      if (!close) {
        throw wireError('ERR_WIRE_GPOBJECT_MALFORMED', { detail: { reason: 'unclosed gpPARAM' } });
      }
      raw = rest.slice(0, close.index);
      PARAM_OPEN.lastIndex += close.index + close[0].length;
    }
    const trimmed = raw.trim();
    const cdata = CDATA.exec(trimmed);
    const value = cdata ? (cdata[1] ?? '') : decodeEntities(trimmed);
    out.push({ name, attributes, value });
  }
  return out;
}

/**
 * The parameters as a name → value map. `onDuplicate: 'first'` (default) keeps the first value, as the
 * regex-based real clients do; `'throw'` rejects a repeated name with `ERR_WIRE_GPOBJECT_DUPLICATE`
 * (servers should, so that a second `uid` cannot shadow the first).
 *
 * @example
 * ```ts
 * const map = gpParamMap(parseGpObject(body), { onDuplicate: 'throw' });
 * map.get('challenge');
 * ```
 */
export function gpParamMap(
  params: readonly GpParam[],
  options: { onDuplicate?: 'first' | 'throw' } = {},
): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const p of params) {
    if (map.has(p.name)) {
      if (options.onDuplicate === 'throw') {
        throw wireError('ERR_WIRE_GPOBJECT_DUPLICATE', { detail: { name: p.name } });
      }
      continue;
    }
    map.set(p.name, p.value);
  }
  return map;
}
