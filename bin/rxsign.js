#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=256
// Thin launcher: the CLI is compiled TypeScript in dist/ (npm run build). The first line's Node flags keep the
// resident agent small (src/node-flags.ts; test/packaging.test.ts keeps them equal).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('rxsign: not built yet; run `npm run build` in the project folder first\n');
  process.exit(2);
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
