/**
 * `rxsign verify FILE… [--content FILE] [--trust DIR] [--crl DIR] [--at TIME] [--allow-sha1]
 * [--revocation require|if-available|off] [--json]`. Exit status: 0 every file passed, 1 any failed,
 * 2 any indeterminate and none failed; usage and I/O errors: 2 with one line on stderr.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  createVerifier,
  loadTrustStore,
  type RevocationPolicy,
  type VerificationReport,
} from '../verify/index.js';
import { json, parseOrExit, reportError, usageError, type Io } from './output.js';

export const VERIFY_HELP = `Usage: rxsign verify FILE… [options]

Verify EPS prescription signatures (HL7 v3 XML, FHIR Bundle/Provenance/Signature JSON) and CMS signatures
(DER or PEM), recognised by content. Prints one line per file (PASSED/FAILED/INDETERMINATE, the
sub-indication and the first failing check's message) and then the checks.

Options:
  --content FILE        detached content: the signed document of a detached CMS, or the HL7 v3
                        prescription a FHIR signature signs
  --trust DIR           CA certificates: self-signed ones and sub-CAs whose issuer is not in the
                        folders are trust anchors, the others intermediates; repeatable
                        (default: RXSIGN_TRUST_DIR, as the agent)
  --crl DIR             CRLs and ARLs (DER or PEM); repeatable (default: RXSIGN_CRL_DIR)
  --at TIME             evaluate certificates at this ISO 8601 time instead of the signing time
  --allow-sha1          accept SHA-1 signatures (legacy cards)
  --revocation MODE     require (default: no revocation data → INDETERMINATE), if-available, off
  --json                print the full reports as JSON
  -h, --help            show this help

A FHIR Bundle is checked against its own content (its fragments are rebuilt from the Bundle); content that
cannot be rebuilt, and no trust anchor at all, give INDETERMINATE, never PASSED.

Exit status: 0 all passed, 1 any failed, 2 any indeterminate (and none failed), 2 usage or I/O error.
`;

function render(file: string, r: VerificationReport): string {
  const word =
    r.indication === 'TOTAL_PASSED'
      ? 'PASSED'
      : r.indication === 'TOTAL_FAILED'
        ? 'FAILED'
        : 'INDETERMINATE';
  const first =
    r.checks.find((c) => c.status === 'failed') ??
    r.checks.find((c) => c.status === 'indeterminate');
  const head = [`${file}: ${word}`, r.subIndication, first?.message]
    .filter((x) => x !== undefined)
    .join(' — ');
  const who =
    r.signer === undefined
      ? []
      : [
          `  signer: ${r.signer.name}${r.signer.uid === undefined ? '' : ` (UID ${r.signer.uid})`}${r.signingTime === undefined ? '' : `, signed ${r.signingTime}`}`,
        ];
  const lines = r.checks.map(
    (c) => `  [${c.status}] ${c.title}${c.message === undefined ? '' : `: ${c.message}`}`,
  );
  return [head, ...who, ...lines].join('\n');
}

/** Runs `rxsign verify`; returns the exit status. */
export async function runVerify(argv: string[], io: Io): Promise<number> {
  const parsed = parseOrExit(io, VERIFY_HELP, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        content: { type: 'string' },
        trust: { type: 'string', multiple: true },
        crl: { type: 'string', multiple: true },
        at: { type: 'string' },
        'allow-sha1': { type: 'boolean', default: false },
        revocation: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (typeof parsed === 'number') {
    return parsed;
  }
  const { values, positionals: files } = parsed;
  const usage = (message: string): number => usageError(io, 'verify', message);
  if (files.length === 0) {
    return usage('verify needs at least one FILE');
  }
  const revocation = values.revocation ?? 'require';
  if (revocation !== 'require' && revocation !== 'if-available' && revocation !== 'off') {
    return usage('--revocation must be require, if-available or off');
  }
  const at = values.at === undefined ? undefined : new Date(values.at);
  if (at !== undefined && Number.isNaN(at.getTime())) {
    return usage('--at must be an ISO 8601 time');
  }
  try {
    const fromEnv = (name: string): string[] => {
      const v = process.env[name];
      return v === undefined || v === '' ? [] : [v];
    };
    const store = await loadTrustStore({
      trustDirs: values.trust ?? fromEnv('RXSIGN_TRUST_DIR'),
      crlDirs: values.crl ?? fromEnv('RXSIGN_CRL_DIR'),
    });
    const content =
      values.content === undefined ? undefined : new Uint8Array(await readFile(values.content));
    const verifier = createVerifier({
      anchors: store.anchors,
      intermediates: store.intermediates,
      crls: store.crls,
      revocation: revocation satisfies RevocationPolicy,
      allowSha1: values['allow-sha1'],
    });
    const reports: { file: string; report: VerificationReport }[] = [];
    for (const file of files) {
      const bytes = new Uint8Array(
        await readFile(file).catch((err: unknown) => {
          throw Object.assign(new Error(`cannot read ${file}`), {
            code: 'ERR_VERIFY_READ',
            cause: err,
          });
        }),
      );
      const report = await verifier.verifyDocument(bytes, {
        ...(at === undefined ? {} : { at }),
        ...(content === undefined ? {} : { detachedContent: content }),
      });
      reports.push({ file, report });
    }
    if (values.json) {
      json(io, reports);
    } else {
      io.out(reports.map((r) => render(r.file, r.report)).join('\n'));
    }
    const kinds = reports.map((r) => r.report.indication);
    return kinds.includes('TOTAL_FAILED') ? 1 : kinds.includes('INDETERMINATE') ? 2 : 0;
  } catch (err) {
    if (err instanceof Error && (err as { code?: unknown }).code === 'ERR_VERIFY_READ') {
      io.err(`rxsign: ${err.message}`);
      return 2;
    }
    if (
      err instanceof Error &&
      typeof (err as { code?: unknown }).code === 'string' &&
      /^E[A-Z]+$/.test(String((err as { code?: unknown }).code))
    ) {
      io.err(`rxsign: cannot read a trust, CRL or content file or folder`);
      return 2;
    }
    return reportError(io, err);
  }
}
