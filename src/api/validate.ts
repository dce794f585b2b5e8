/** Validates a request part against a zod schema; failures become ERR_BAD_REQUEST with field paths only. */
import type { z } from 'zod';
import { apiError } from './errors.js';

export function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    throw apiError('ERR_BAD_REQUEST', {
      issues: r.error.issues
        .slice(0, 10)
        .map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
    });
  }
  return r.data;
}
