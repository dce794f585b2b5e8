// The repository explains itself: every document it points to exists, and every § it cites is there.
// - markdown links `[text](target)` in README.md, SECURITY.md and docs/**/*.md resolve (relative to the file)
//   to a file in the repository;
// - every `docs/…` path named anywhere in those documents or in src/, test/, bench/ and scripts/ (comments,
//   error fixes, test names) exists;
// - every `src/…`, `test/…`, `bench/…`, `scripts/…` or `softhsm/…` file a document names exists;
// - every `docs/protocol/*.md §N` and `docs/style.md §N` cited exists as a section (protocol docs) or a
//   numbered rule (style).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

function walk(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  if (!existsSync(join(ROOT, dir))) {
    return out;
  }
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...walk(rel, keep));
    } else if (keep(e.name)) {
      out.push(rel);
    }
  }
  return out;
}

const MARKDOWN = [
  ...['README.md', 'SECURITY.md'].filter((f) => existsSync(join(ROOT, f))),
  ...walk('docs', (n) => n.endsWith('.md')),
];
const CODE = ['src', 'test', 'bench', 'scripts', 'softhsm'].flatMap((d) =>
  walk(d, (n) => /\.(ts|mjs|js|sh)$/.test(n)),
);
const text = (f: string): string => readFileSync(join(ROOT, f), 'utf8');
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** `[text](target)` links, minus external ones and pure anchors; the target without its #fragment. */
export function markdownLinks(md: string): string[] {
  const found: string[] = [];
  // Fenced code blocks hold examples, not links.
  const prose = md.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of prose.matchAll(/\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) {
      continue;
    }
    found.push(decodeURIComponent(target.replace(/#.*$/, '')));
  }
  return found;
}

/** Repository paths named in text: `docs/…` anywhere, and code paths too when `code` is set. */
export function namedPaths(t: string, code: boolean): string[] {
  const roots = code ? '(?:docs|src|test|bench|scripts|softhsm)' : 'docs';
  const re = new RegExp(
    `(?<![\\w./-])${roots}/[\\w./-]*?\\.(?:md|json|ya?ml|ts|mjs|js|sh)(?![\\w/-])`,
    'g',
  );
  return [...t.matchAll(re)].map((m) => m[0]);
}

/** `docs/<file>.md §1.2–1.3, §4` → the file and the section numbers cited. */
export function sectionCitations(t: string): { file: string; sections: string[] }[] {
  const out: { file: string; sections: string[] }[] = [];
  const re =
    /(?<![\w./-])(docs\/(?:protocol\/[\w-]+|style)\.md)((?:[ ,]*(?:§|–|-|and )\s*\d+(?:\.\d+)*)+)/g;
  for (const m of t.matchAll(re)) {
    out.push({
      file: m[1] ?? '',
      sections: [...(m[2] ?? '').matchAll(/\d+(?:\.\d+)*/g)].map((n) => n[0]),
    });
  }
  return out;
}

/** The section numbers a document has: `## 1.` / `### 1.2` headings, and top-level `12.` rules in style.md. */
function sectionsOf(file: string): Set<string> {
  const s = new Set<string>();
  for (const m of text(file).matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)) {
    s.add(m[1] ?? '');
  }
  if (file === 'docs/style.md') {
    for (const m of text(file).matchAll(/^(\d+)\. /gm)) {
      s.add(m[1] ?? '');
    }
  }
  return s;
}

describe('the parsers find what they should', () => {
  test('markdown links: relative ones kept without fragment, external and anchors dropped', () => {
    expect(
      markdownLinks(
        '[a](api.md) [b](../SECURITY.md#trusted) [c](https://x.org/a.md) [d](#x)\n```\n[e](no.md)\n```',
      ),
    ).toEqual(['api.md', '../SECURITY.md']);
  });
  test('named paths: docs/ paths in prose and strings, not inside URLs or other paths', () => {
    expect(
      namedPaths(
        "fix: 'See docs/api.md for the routes.' https://h/x/docs/y.md ../docs/z.md `src/a/b.ts`",
        false,
      ),
    ).toEqual(['docs/api.md']);
    expect(namedPaths('`src/a/b.ts`, test/c.test.ts.', true)).toEqual([
      'src/a/b.ts',
      'test/c.test.ts',
    ]);
  });
  test('section citations: single, lists and ranges', () => {
    expect(
      sectionCitations(
        'docs/protocol/cis-login.md §1.3 step 5; docs/protocol/eps-signing.md §1.7–1.8, §3; docs/style.md §11–12',
      ),
    ).toEqual([
      { file: 'docs/protocol/cis-login.md', sections: ['1.3'] },
      { file: 'docs/protocol/eps-signing.md', sections: ['1.7', '1.8', '3'] },
      { file: 'docs/style.md', sections: ['11', '12'] },
    ]);
  });
});

describe('every document the repository points to exists', () => {
  test.each(MARKDOWN)('%s: markdown links resolve to files', (file) => {
    const missing = markdownLinks(text(file)).filter(
      (target) => !existsSync(resolve(ROOT, dirname(file), target)),
    );
    expect(missing).toEqual([]);
  });

  test.each(MARKDOWN)('%s: named repository paths exist', (file) => {
    const missing = namedPaths(text(file), true).filter((p) => !isFile(join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  test('src/, test/, bench/, scripts/: every docs/ path named in comments and strings exists', () => {
    const missing = CODE.flatMap((f) =>
      namedPaths(text(f), false)
        .filter((p) => !isFile(join(ROOT, p)))
        .map((p) => `${f}: ${p}`),
    );
    expect(missing).toEqual([]);
  });

  test('every cited § of docs/protocol/*.md and docs/style.md exists', () => {
    const cache = new Map<string, Set<string>>();
    const missing: string[] = [];
    for (const f of [...MARKDOWN, ...CODE]) {
      for (const c of sectionCitations(text(f))) {
        if (!isFile(join(ROOT, c.file))) {
          missing.push(`${f}: ${c.file}`);
          continue;
        }
        const have = cache.get(c.file) ?? sectionsOf(c.file);
        cache.set(c.file, have);
        for (const n of c.sections) {
          if (!have.has(n)) {
            missing.push(`${relative(ROOT, join(ROOT, f))}: ${c.file} §${n}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
