// A Spine simulator and an agent on loopback, with the SoftHSM test cards.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent } from '../../../src/auth/agent.js';
import { SsbClient, type Fetch } from '../../../src/auth/ssb-client.js';
import { parseCertificate, pemToDer } from '../../../src/cms/index.js';
import { createLogger, type Logger } from '../../../src/log.js';
import { openTokenPort, type TokenPort } from '../../../src/pkcs11/index.js';
import {
  startSpineSim,
  type RunningSpineSim,
  loadCrlDir,
  trustFromCertificates,
  loadUsersFile,
} from '../../../src/spine-sim/index.js';
import { softhsmDir, softhsmModule } from '../../helpers/softhsm.js';

/** Every log line any component writes, to check that no secret reaches a log. */
export function captureLogger(name = 'rxsign'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'trace', name }, stream), lines };
}

export async function startSim(
  opts: { exceptUid?: string; clock?: () => number; dir?: string; logger?: Logger } = {},
): Promise<RunningSpineSim> {
  const dir = opts.dir ?? softhsmDir();
  const pki = join(dir, 'pki');
  const certs = ['root.pem', 'auth-ca.pem'].map((f) =>
    parseCertificate(pemToDer(readFileSync(join(pki, f), 'utf8'))),
  );
  const users = loadUsersFile(join(dir, 'users.json')).filter((u) => u.uid !== opts.exceptUid);
  return startSpineSim({
    port: 0,
    users,
    trust: trustFromCertificates(certs),
    crls: loadCrlDir(join(pki, 'crl')),
    revocation: 'require',
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}

export interface Rig {
  agent: Agent;
  port: TokenPort;
  logger: Logger;
  lines: string[];
  close(): Promise<void>;
}

export async function startAgent(o: {
  ssbUrl: string;
  label: string;
  port?: TokenPort;
  fetch?: Fetch;
  now?: () => number;
  timeoutMs?: number;
  pollIntervalMs?: number;
}): Promise<Rig> {
  const port =
    o.port ??
    (await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: o.pollIntervalMs ?? 0 }));
  const { logger, lines } = captureLogger();
  const agent = new Agent({
    port,
    ssb: new SsbClient({
      baseUrl: o.ssbUrl,
      timeoutMs: o.timeoutMs ?? 5000,
      backoffMs: 20,
      ...(o.fetch ? { fetch: o.fetch } : {}),
    }),
    token: { label: o.label },
    logger,
    ...(o.now ? { now: o.now } : {}),
  });
  await agent.start();
  return {
    agent,
    port,
    logger,
    lines,
    close: async () => {
      await agent.close();
      await port.close();
    },
  };
}
