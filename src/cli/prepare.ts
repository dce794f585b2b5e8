/**
 * `rxsign prepare BUNDLE.json --timestamp ISO [--algorithm RS256|RS1] [--json]`: what EPS `$prepare` returns for
 * a prescription-order Bundle, computed locally (docs/prescription.md). Exit status 0; a Bundle that cannot be
 * translated exactly: 2 with one line naming the FHIR element; usage and I/O errors: 2.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { isServiceError } from '../errors.js';
import { prepareBundle, prepareParameters } from '../prescription/fhir/index.js';
import { json, parseOrExit, reportError, usageError, type Io } from './output.js';

export const PREPARE_HELP = `Usage: rxsign prepare BUNDLE.json --timestamp ISO [options]

Compute what EPS $prepare returns for a FHIR R4 prescription-order Bundle (without its Provenance), locally:
the canonical SignedInfo (base64, the 'digest' parameter) that the prescriber's card signs, the timestamp
EPS hashes as author/time, and the algorithm. Read the Bundle from '-' for standard input.

Options:
  --timestamp ISO       the signing time, ISO 8601 with an offset (e.g. 2024-12-09T11:50:04+00:00);
                        the same value goes into Provenance.signature.when
  --algorithm ALG       RS256 (default, SHA-256) or RS1 (SHA-1, legacy cards only)
  --json                print the FHIR Parameters resource EPS $prepare answers
  -h, --help            show this help

Exit status: 0 prepared; 2 usage or I/O error, or a Bundle that cannot be translated exactly (the message
names the FHIR element).
`;

/** Runs `rxsign prepare`; returns the exit status. */
export async function runPrepare(argv: string[], io: Io): Promise<number> {
  const parsed = parseOrExit(io, PREPARE_HELP, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        timestamp: { type: 'string' },
        algorithm: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (typeof parsed === 'number') {
    return parsed;
  }
  const { values, positionals: files } = parsed;
  const usage = (message: string): number => usageError(io, 'prepare', message);
  const [file, ...extra] = files;
  if (file === undefined || extra.length > 0) {
    return usage('prepare needs exactly one BUNDLE file');
  }
  if (values.timestamp === undefined) {
    return usage('prepare needs --timestamp');
  }
  const algorithm = values.algorithm ?? 'RS256';
  if (algorithm !== 'RS256' && algorithm !== 'RS1') {
    return usage('--algorithm must be RS256 or RS1');
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(file === '-' ? await readStdin() : await readFile(file));
  } catch {
    io.err(`rxsign: cannot read ${file}`);
    return 2;
  }
  try {
    const result = prepareBundle(bytes, { timestamp: values.timestamp, algorithm });
    if (values.json) {
      json(io, prepareParameters(result));
    } else {
      io.out(
        [
          `digest: ${result.digest}`,
          `timestamp: ${result.timestamp}`,
          `algorithm: ${result.algorithm}`,
        ].join('\n'),
      );
    }
    return 0;
  } catch (err) {
    const element = isServiceError(err) ? (err.detail?.element as string | undefined) : undefined;
    const issues = isServiceError(err)
      ? (err.detail?.issues as { path: string; message: string }[] | undefined)
      : undefined;
    const reason = issues?.[0]?.message;
    return reportError(
      io,
      err,
      element === undefined
        ? undefined
        : `${element}${reason === undefined || (isServiceError(err) && reason === err.message) ? '' : `: ${reason}`}`,
    );
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
