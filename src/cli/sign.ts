/**
 * `rxsign sign eps|hl7|cms`: content-commitment signing with the card's non-repudiation key.
 *
 * Rules:
 * - the PIN comes from RXSIGN_PIN or a no-echo prompt on a terminal (cli/pin.ts), never argv;
 * - every attempt is audited (src/signing) before any signature is printed or written;
 * - a failure prints one line (`rxsign: … [ERR_…]`) and exits 2.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { openAuditLog } from '../audit/index.js';
import { pemBlocks } from '../cms/index.js';
import { resolveConfig } from '../config.js';
import { openTokenPort, type TokenPort, type TokenSelector } from '../pkcs11/index.js';
import {
  createSigningService,
  loadSigningTrust,
  signError,
  type SigningService,
  type SigningTrust,
} from '../signing/index.js';
import { json, reportError, type Io } from './output.js';
import { readPin } from './pin.js';

const COMMON = `  --module PATH      PKCS#11 module (default: RXSIGN_MODULE, else SoftHSM2's)
  --token LABEL      card label (default: RXSIGN_TOKEN, else the first card present)
  --audit-log PATH   audit log (default: RXSIGN_AUDIT_LOG)
  --trust DIR        trust anchors (and intermediates) for the path/revocation check
  --crl DIR          CRLs/ARLs (DER or PEM) for the revocation check
  --chain FILE       PEM intermediates (path check; included in CMS signatures)
  -h, --help         show this help
The PIN is read from RXSIGN_PIN or a prompt on the terminal, never from the command line.`;

export const SIGN_HELP = `Usage:
  rxsign sign eps --digest B64 --algorithm RS256|RS1 [--timestamp ISO] [--bundle FILE [--bundle-out FILE]] [--json]
  rxsign sign eps --prepare FILE [--bundle FILE [--bundle-out FILE]] [--json]
  rxsign sign hl7 --in FILE --out FILE [--algorithm RS256|RS1]
  rxsign sign cms --in FILE --out FILE [--detached] [--pem]

eps: signs a $prepare digest (the SignedInfo, as received) and prints the signature, the certificate, the
     XML-DSig Signature and the FHIR Provenance entry. With --bundle (the $prepare request Bundle) the digest
     is recomputed from the Bundle first and nothing is signed unless it matches (ERR_SIGN_DIGEST_MISMATCH;
     --timestamp or --prepare needed); the answer then names the prescription, the patient and the items
     signed, and --bundle-out writes the Bundle with the Provenance added, ready for $process-message.
hl7: signs an HL7 v3 ParentPrescription (author/time := now; Signature in author/signatureText).
cms: CAdES-BES (SHA-256) signature of any file, attached or detached, DER or PEM.

Options:
${COMMON}
`;

const OPTIONS = {
  digest: { type: 'string' },
  algorithm: { type: 'string' },
  timestamp: { type: 'string' },
  prepare: { type: 'string' },
  bundle: { type: 'string' },
  'bundle-out': { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' },
  detached: { type: 'boolean' },
  pem: { type: 'boolean' },
  json: { type: 'boolean' },
  module: { type: 'string' },
  token: { type: 'string' },
  'audit-log': { type: 'string' },
  trust: { type: 'string' },
  crl: { type: 'string' },
  chain: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface PrepareParams {
  digest: string;
  algorithm: string;
  timestamp: string | undefined;
}

function fromParameters(doc: unknown): PrepareParams {
  const params = (doc as { parameter?: unknown }).parameter;
  const get = (name: string): string | undefined => {
    if (!Array.isArray(params)) {
      return undefined;
    }
    const p: unknown = params.find((x: unknown) => (x as { name?: unknown }).name === name);
    const v = (p as { valueString?: unknown } | undefined)?.valueString;
    return typeof v === 'string' ? v : undefined;
  };
  const digest = get('digest');
  const algorithm = get('algorithm');
  if (digest === undefined || algorithm === undefined) {
    throw signError('ERR_SIGN_BAD_INPUT');
  }
  return { digest, algorithm, timestamp: get('timestamp') };
}

async function selectToken(port: TokenPort, label: string | undefined): Promise<TokenSelector> {
  if (label !== undefined) {
    return { label };
  }
  const first = (await port.listSlots()).find((s) => s.token !== undefined)?.token;
  if (first === undefined) {
    throw signError('ERR_SIGN_CARD_REMOVED');
  }
  return { serial: first.serial };
}

/**
 * Runs `rxsign sign …`; returns the exit status (0 ok, 2 on any failure).
 *
 * @example
 * ```ts
 * process.exitCode = await runSign(['eps', '--prepare', 'prepare.json', '--json'], processIo);
 * ```
 */
export async function runSign(argv: string[], io: Io): Promise<number> {
  let port: TokenPort | undefined;
  let service: SigningService | undefined;
  let audit: Awaited<ReturnType<typeof openAuditLog>> | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const kind = positionals[0];
    if (values.help === true || kind === undefined) {
      io.out(SIGN_HELP);
      return values.help === true ? 0 : 2;
    }
    if (kind !== 'eps' && kind !== 'hl7' && kind !== 'cms') {
      io.err(`rxsign: unknown signing kind (expected eps, hl7 or cms; see rxsign sign --help)`);
      return 2;
    }
    if (kind !== 'eps' && (values.in === undefined || values.out === undefined)) {
      io.err('rxsign: --in FILE and --out FILE are required (see rxsign sign --help)');
      return 2;
    }
    let eps: PrepareParams | undefined;
    if (kind === 'eps') {
      if (values.prepare !== undefined) {
        eps = fromParameters(JSON.parse(await readFile(values.prepare, 'utf8')) as unknown);
      } else if (values.digest !== undefined && values.algorithm !== undefined) {
        eps = { digest: values.digest, algorithm: values.algorithm, timestamp: values.timestamp };
      } else {
        io.err(
          'rxsign: give --digest B64 --algorithm RS256|RS1, or --prepare FILE (see rxsign sign --help)',
        );
        return 2;
      }
    }
    const { config } = resolveConfig();
    const chainDer =
      values.chain === undefined
        ? []
        : pemBlocks(await readFile(values.chain, 'latin1'), ['CERTIFICATE']);
    let trust: SigningTrust | undefined;
    if (values.trust !== undefined || values.crl !== undefined) {
      trust = await loadSigningTrust({
        ...(values.trust !== undefined ? { trustDir: values.trust } : {}),
        ...(values.crl !== undefined ? { crlDir: values.crl } : {}),
        ...(values.chain !== undefined ? { chainFiles: [values.chain] } : {}),
      });
    }
    const input = values.in === undefined ? undefined : new Uint8Array(await readFile(values.in));
    const pin = await readPin();
    if (pin === undefined) {
      throw signError('ERR_SIGN_PIN_REQUIRED');
    }
    port = await openTokenPort({
      modulePath: values.module ?? config.modulePath,
      mechanisms: config.mechanisms,
      sessions: config.signSessions,
    });
    const token = await selectToken(port, values.token ?? config.tokenLabel);
    audit = await openAuditLog(values['audit-log'] ?? config.auditLogPath);
    service = createSigningService({
      port,
      token,
      pinPolicy: 'per-signature',
      audit,
      chainDer,
      ...(trust !== undefined ? { trust } : {}),
    });
    // The PIN guard of this process (docs/pin.md): a PIN from the terminal or RXSIGN_PIN is the CLI's.
    const caller = { client: 'cli', pin, pinFrom: 'cli' as const };
    if (eps !== undefined) {
      // JSON text, not JSON.parse: a decimal such as 1.50 is signed as written (docs/prescription.md).
      const bundle =
        values.bundle === undefined ? undefined : await readFile(values.bundle, 'utf8');
      const res = await service.signEpsDigest(
        {
          digest: eps.digest,
          algorithm: eps.algorithm,
          ...(eps.timestamp !== undefined ? { timestamp: eps.timestamp } : {}),
          ...(bundle !== undefined ? { bundle } : {}),
        },
        caller,
      );
      if (values['bundle-out'] !== undefined && res.bundle !== undefined) {
        await writeFile(values['bundle-out'], res.bundle, 'utf8');
      }
      if (values.json === true) {
        json(io, res);
      } else {
        const rx = res.prescription;
        const what =
          rx === undefined
            ? []
            : [
                `prescription: ${rx.prescriptionId} for ${rx.patient.name} (NHS number ${rx.patient.nhsNumber})`,
                ...rx.items.map((i) => `  item: ${i.name}, ${i.quantity}: ${i.dosage}`),
              ];
        io.out(
          [
            ...what,
            `signature: ${res.signature}`,
            `certificate: ${res.certificate}`,
            `signatureXml: ${res.signatureXml}`,
          ].join('\n'),
        );
      }
    } else if (kind === 'hl7' && input !== undefined && values.out !== undefined) {
      const alg =
        values.algorithm === 'RS1'
          ? 'RS1'
          : values.algorithm === undefined || values.algorithm === 'RS256'
            ? 'RS256'
            : undefined;
      if (alg === undefined) {
        throw signError('ERR_SIGN_ALGORITHM_UNSUPPORTED');
      }
      const res = await service.signHl7(input, caller, { algorithm: alg });
      await writeFile(values.out, res.xml, 'utf8');
      io.out(`signed ${values.in ?? ''} → ${values.out} (author/time ${res.authorTime})`);
    } else if (input !== undefined && values.out !== undefined) {
      const cms = await service.signCms(input, caller, {
        detached: values.detached === true,
        pem: values.pem === true,
      });
      await writeFile(values.out, cms);
      io.out(
        `signed ${values.in ?? ''} → ${values.out} (CAdES-BES, ${values.detached === true ? 'detached' : 'attached'})`,
      );
    }
    return 0;
  } catch (err) {
    reportError(io, err);
    return 2; // every failure of a signing command exits 2, expected or not
  } finally {
    service?.close();
    await audit?.close().catch(() => undefined);
    await port?.close().catch(() => undefined);
  }
}
