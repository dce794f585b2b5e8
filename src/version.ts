/** rxsign's version: the `version` of the package.json nearest above this file (src/ or dist/src/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function read(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'rxsign' && typeof pkg.version === 'string') {
        return pkg.version;
      }
    }
    if (dirname(dir) === dir) {
      return '0.0.0';
    }
    dir = dirname(dir);
  }
}

/** e.g. `0.1.0`. */
export const VERSION: string = read();
