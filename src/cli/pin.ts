/** The PIN for CLI commands: RXSIGN_PIN, else a prompt on the terminal with no echo. Never argv. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { readPinFromEnv } from '../config.js';

export async function readPin(prompt = 'Smartcard PIN: '): Promise<string | undefined> {
  const fromEnv = readPinFromEnv();
  if (fromEnv !== undefined) {
    return fromEnv;
  }
  if (!process.stdin.isTTY) {
    return undefined;
  }
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) {
        process.stderr.write(chunk);
      }
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  process.stderr.write(prompt);
  muted = true;
  const pin = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  return pin;
}
