// Where the public EPS vectors live: read in place from ../shared/vectors/eps (never copied into the repo).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const EPS_VECTORS = resolve(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'vectors',
  'eps',
);
export const HAVE_VECTORS = existsSync(join(EPS_VECTORS, 'INDEX.md'));
export const SKIP_REASON = '(skipped: ../shared/vectors not present)';

export function vector(...path: string[]): Buffer {
  return readFileSync(join(EPS_VECTORS, ...path));
}

/** The `prepare/<case>/` folders that hold an HL7 v3 Convert response (INDEX.md §2). */
export function prepareCases(): string[] {
  if (!HAVE_VECTORS) {
    return [];
  }
  return readdirSync(join(EPS_VECTORS, 'prepare'), { withFileTypes: true })
    .filter(
      (d) =>
        d.isDirectory() &&
        existsSync(join(EPS_VECTORS, 'prepare', d.name, '1-Convert-Response-Send-200_OK.xml')),
    )
    .map((d) => d.name)
    .sort();
}

/** The Prepare-Response parameters of a case. */
export function prepareResponse(name: string): {
  digest: string;
  timestamp: string;
  algorithm: string;
} {
  const body = JSON.parse(
    vector('prepare', name, '1-Prepare-Response-200_OK.json').toString('utf8'),
  ) as {
    parameter: { name: string; valueString: string }[];
  };
  const get = (key: string): string => {
    const found = body.parameter.find((p) => p.name === key);
    if (found === undefined) {
      throw new Error(`vector ${name}: no ${key}`);
    }
    return found.valueString;
  };
  return { digest: get('digest'), timestamp: get('timestamp'), algorithm: get('algorithm') };
}
