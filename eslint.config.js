// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Folder surfaces (README: Layout). Each of these folders under src/ has one `index.ts` with explicit named
 * exports; code outside a folder imports it only through that index, never a file inside it (a "deep
 * import"). The rule, enforced below with `no-restricted-imports`:
 * - src/ and bench/: every import of another folder goes through its index.ts;
 * - test/<folder>/ and test/integration/<folder>/ may import the internals of the folder they test (that is
 *   what a unit test is for), and reach every other folder through its index.ts; test/helpers/ and
 *   test/setup/ test no folder, so they use the indexes only.
 * src/cli/ is not listed: it is the outermost layer (only bin/ and tests run it), it has no index.
 * A folder may hold a sub-folder with its own surface (NESTED: src/prescription/fhir/index.ts): outside the
 * folder, that index is allowed too, and the sub-folder's other files are not.
 */
const SURFACES = [
  'pkcs11',
  'cms',
  'prescription',
  'pin',
  'audit',
  'signing',
  'verify',
  'auth',
  'spine-sim',
  'cis2',
  'cis2-sim',
  'cm',
  'api',
];

/** Sub-folders with their own index.ts, by folder. */
const NESTED = { prescription: ['fhir'] };

/**
 * `no-restricted-imports` against deep imports into every surface folder except `own`. In src/ and bench/ a
 * path names the folder directly ('../cms/x.js'); in test/ it goes through src/ ('../../src/cms/x.js'), so
 * that test/cms/fixtures.ts is not mistaken for src/cms.
 */
function surfaceRule(own, prefix = '') {
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: SURFACES.filter((f) => f !== own).map((f) => ({
          // '<prefix>f/' followed by anything but 'index.js' (or a NESTED sub-folder's 'sub/index.js').
          regex: `(^|/)${prefix}${f}/(?!(${['', ...(NESTED[f] ?? []).map((n) => `${n}/`)].join('|')})index\\.js$)`,
          message: `Import src/${f} through its index.ts (its declared surface; README: Layout).`,
        })),
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-bench/', '.rxsign/', '.rxsign-test/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // Inside a folder, relative imports ('./x.js', '../errors.js') never name the folder itself, so one rule
  // for all of src/ and bench/ is enough; the per-folder test blocks come after the general one and win.
  { files: ['src/**/*.ts', 'bench/**/*.ts'], rules: surfaceRule(undefined) },
  { files: ['test/**/*.ts'], rules: surfaceRule(undefined, 'src/') },
  ...SURFACES.map((f) => ({
    files: [`test/${f}/**/*.ts`, `test/integration/${f}/**/*.ts`],
    rules: surfaceRule(f, 'src/'),
  })),
  {
    // Plain Node scripts (setup, launcher): Node's globals.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Scripts that run in the browser: the agent page and the Credential Management demo page.
    files: ['src/page/**/*.js', 'examples/**/page.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'localStorage',
          'fetch',
          'btoa',
          'TextEncoder',
          'TextDecoderStream',
          'URLSearchParams',
          'setTimeout',
          'setInterval',
          'clearInterval',
          'clearTimeout',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    // The CLI and the benchmark print to the terminal on purpose, and the test setup replaces console
    // itself; everything else logs through pino.
    files: ['src/cli/**', 'bench/**', 'bin/**', 'scripts/**', 'softhsm/**', 'test/setup/**'],
    rules: { 'no-console': 'off' },
  },
);
