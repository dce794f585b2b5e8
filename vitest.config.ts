import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    isolate: true,
    setupFiles: ['test/setup/fail-on-console.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
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
          globalSetup: ['test/setup/softhsm-global.ts'],
          // The cards are shared: files run one after another so that a PIN-lock or folder-removal test
          // never races another file's login.
          fileParallelism: false,
        },
      },
    ],
  },
});
