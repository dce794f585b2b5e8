/**
 * `rxsign tokens [--module PATH] [--json]`: every slot, token and certificate — what a user runs first when a
 * card is not seen.
 */
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config.js';
import { openTokenPort, type CardCertificate, type SlotInfo } from '../pkcs11/index.js';
import { json, reportError, type Io } from './output.js';

export const TOKENS_HELP = `Usage: rxsign tokens [--module PATH] [--json]

List every slot of the PKCS#11 module, its token (label, serial, manufacturer, model, flags) and the
certificates on it (subject, issuer, key usage, validity, CKA_ID and the keys it pairs with).

Options:
  --module PATH   PKCS#11 module (default: RXSIGN_MODULE, else SoftHSM2's)
  --json          machine-readable output
  -h, --help      show this help
`;

export interface CertificateView {
  id: string;
  label: string;
  purpose: string;
  subject: string;
  issuer: string;
  serial: string;
  keyUsage: string[];
  notBefore: string;
  notAfter: string;
  pairsWith: { privateKey: boolean | 'not visible before login'; publicKey: boolean };
}

export interface TokenView {
  slotId: string;
  description: string;
  tokenPresent: boolean;
  token?: {
    label: string;
    serial: string;
    manufacturer: string;
    model: string;
    flags: string[];
    certificates: CertificateView[];
    error?: string;
  };
}

function describeCert(c: CardCertificate, loginRequired: boolean): CertificateView {
  let subject = '?';
  let issuer = '?';
  let serial = '?';
  let notBefore = '?';
  let notAfter = '?';
  try {
    const x = new X509Certificate(c.der);
    subject = x.subject.split('\n').join(', ');
    issuer = x.issuer.split('\n').join(', ');
    serial = x.serialNumber;
    notBefore = new Date(x.validFrom).toISOString();
    notAfter = new Date(x.validTo).toISOString();
  } catch {
    subject = '(unreadable certificate)';
  }
  return {
    id: c.id,
    label: c.label,
    purpose: c.purpose,
    subject,
    issuer,
    serial,
    keyUsage: [...c.keyUsage],
    notBefore,
    notAfter,
    pairsWith: {
      privateKey: c.hasPrivateKey ? true : loginRequired ? 'not visible before login' : false,
      publicKey: c.hasPublicKey,
    },
  };
}

function flagsOf(s: SlotInfo): string[] {
  const f = s.token?.flags;
  if (!f) {
    return [];
  }
  return Object.entries(f)
    .filter(([, v]) => v)
    .map(([k]) => k);
}

/** Runs `rxsign tokens`; returns the exit status. */
export async function runTokens(argv: string[], io: Io): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        module: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      io.out(TOKENS_HELP);
      return 0;
    }
    const { config } = resolveConfig();
    const modulePath = values.module ?? config.modulePath;
    const port = await openTokenPort({ modulePath, pollIntervalMs: 0 }).catch((err: unknown) => {
      throw Object.assign(err as object, { context: modulePath });
    });
    const views: TokenView[] = [];
    try {
      for (const s of await port.listSlots()) {
        const view: TokenView = {
          slotId: s.slotId,
          description: s.description,
          tokenPresent: s.tokenPresent,
        };
        if (s.token && s.token.flags.tokenInitialized) {
          let certificates: CertificateView[] = [];
          let error: string | undefined;
          try {
            certificates = (await port.certificates({ serial: s.token.serial })).map((c) =>
              describeCert(c, s.token?.flags.loginRequired ?? false),
            );
          } catch (err) {
            error = err instanceof Error ? err.message : 'unreadable';
          }
          view.token = {
            label: s.token.label,
            serial: s.token.serial,
            manufacturer: s.token.manufacturer,
            model: s.token.model,
            flags: flagsOf(s),
            certificates,
            ...(error ? { error } : {}),
          };
        }
        views.push(view);
      }
    } finally {
      await port.close();
    }
    if (values.json) {
      json(io, { module: modulePath, slots: views });
    } else {
      io.out(renderTokens(modulePath, views));
    }
    return 0;
  } catch (err) {
    const ctx = (err as { context?: string }).context;
    return reportError(io, err, ctx);
  }
}

export function renderTokens(modulePath: string, views: TokenView[]): string {
  const lines = [`PKCS#11 module: ${modulePath}`];
  const withTokens = views.filter((v) => v.token);
  lines.push(`${views.length} slot(s), ${withTokens.length} initialised token(s)`);
  for (const v of views) {
    if (!v.token) {
      lines.push(
        '',
        `slot ${v.slotId}: ${v.tokenPresent ? 'uninitialised token' : 'no token'} (${v.description})`,
      );
      continue;
    }
    const t = v.token;
    lines.push(
      '',
      `token "${t.label}"  serial ${t.serial}  (${t.manufacturer} ${t.model}, slot ${v.slotId})`,
    );
    lines.push(`  flags: ${t.flags.join(', ') || '-'}`);
    if (t.error) {
      lines.push(`  certificates: ${t.error}`);
    }
    for (const c of t.certificates) {
      lines.push(`  certificate id ${c.id} (${c.purpose})  label "${c.label}"`);
      lines.push(`    subject:   ${c.subject}`);
      lines.push(`    issuer:    ${c.issuer}`);
      lines.push(`    serial:    ${c.serial}`);
      lines.push(`    key usage: ${c.keyUsage.join(', ') || '-'}`);
      lines.push(`    valid:     ${c.notBefore} to ${c.notAfter}`);
      const pk = c.pairsWith.privateKey;
      lines.push(
        `    keys:      private key ${pk === true ? 'yes' : pk === false ? 'none' : pk}; public key ${c.pairsWith.publicKey ? 'yes' : 'none'} (CKA_ID ${c.id})`,
      );
    }
  }
  return lines.join('\n');
}
