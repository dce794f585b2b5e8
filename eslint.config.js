// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.rxsign/', '.rxsign-test/', 'coverage/'] },
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
