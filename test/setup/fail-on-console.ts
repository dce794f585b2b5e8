// Any console.* call in code under test is a defect (docs/style.md §41): the service logs through pino only.
import { beforeEach } from 'vitest';

const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
beforeEach(() => {
  for (const m of methods) {
    console[m] = (...args: unknown[]) => {
      throw new Error(`console.${m} called in a test: ${args.map(String).join(' ').slice(0, 200)}`);
    };
  }
});
