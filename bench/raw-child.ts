// Raw C_Sign in its own process, for sections whose agent runs in the benchmark's process (cm.ts): PKCS#11 is
// initialised once per process, so the raw signer cannot share the process with the agent's token layer. The
// card comes as JSON in argv[2]; each line on stdin is a time in ms, answered by one line with the raw C_Sign
// rate over that time (token-layer.ts openRawSigner); end of input closes the session and the module.
import { createInterface } from 'node:readline';
import type { BenchCard } from './common.js';
import { openRawSigner } from './token-layer.js';

const card = JSON.parse(process.argv[2] ?? '{}') as BenchCard;
const signer = openRawSigner(card);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${signer.rate(Number(line))}\n`);
}
signer.close();
