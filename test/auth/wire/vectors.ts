// Where the public Spine captures are (read in place, never copied): ../shared/vectors/spine beside the clone, or
// RXSIGN_SPINE_VECTORS. Tests skip with a reason when the folder is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SPINE_VECTORS =
  process.env.RXSIGN_SPINE_VECTORS ??
  resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'vectors', 'spine');

export const haveVectors = existsSync(join(SPINE_VECTORS, 'INDEX.md'));
export const noVectorsReason = `Spine vectors not found at ${SPINE_VECTORS} (set RXSIGN_SPINE_VECTORS)`;

export function vectorText(name: string): string {
  return readFileSync(join(SPINE_VECTORS, name), 'utf8');
}

export function vectorBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(SPINE_VECTORS, name)));
}
