import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    isolate: true,
    setupFiles: ['test/setup/fail-on-console.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Makes (or reuses) the per-run SoftHSM cards and test PKI; both projects may read the PKI.
    globalSetup: ['test/setup/softhsm-global.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'softhsm',
          include: ['test/integration/**/*.test.ts'],
          // The cards are shared: files run one after another so that a PIN-lock or folder-removal test
          // never races another file's login.
          fileParallelism: false,
        },
      },
    ],
  },
});
