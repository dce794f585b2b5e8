// The key every createApp-level test authenticates with (the agent's per-start key, `cli`), and a supertest
// agent that sends it on every request.
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import type { AccessOptions } from '../../src/api/access.js';

export const TEST_KEY = randomBytes(32).toString('base64url');

export function testAccess(extra: Partial<AccessOptions> = {}): AccessOptions {
  return { keys: new Map([['cli', TEST_KEY]]), ...extra };
}

/** supertest with `Authorization: Bearer <TEST_KEY>` on every request (the CLI's key). */
export function keyed(app: Express | string): ReturnType<typeof request.agent> {
  return request.agent(app).set('authorization', `Bearer ${TEST_KEY}`);
}
