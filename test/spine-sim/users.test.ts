// The simulator's users file (zod .strict(): unknown fields are refused, naming the path, never the value).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ServiceError } from '../../src/errors.js';
import { SPINE_SIM_ERRORS } from '../../src/spine-sim/errors.js';
import { loadUsersFile, parseUsers } from '../../src/spine-sim/users.js';
import { pkiPaths } from '../helpers/softhsm.js';
import { USERS } from './fixture.js';

/** The thrown error's `detail.field` (what is wrong, by path), after checking its message is the table's. */
function fieldOfThrown(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toMatchObject({
      code: 'ERR_SPINE_SIM_USERS_INVALID',
      message: SPINE_SIM_ERRORS.ERR_SPINE_SIM_USERS_INVALID.message,
    });
    return String((err as ServiceError).detail?.field);
  }
  throw new Error('parseUsers did not throw');
}

const dir = mkdtempSync(join(tmpdir(), 'rxsign-users-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('users file', () => {
  test('the per-run test users.json (softhsm/setup.mjs) and the fixture users are valid', () => {
    const users = loadUsersFile(pkiPaths().users);
    expect(users.find((u) => u.uid === '555000000002')?.roles).toHaveLength(3);
    expect(parseUsers(USERS)).toEqual(USERS);
  });

  test('an unknown field is refused with its path, and the value is not echoed', () => {
    const bad = [
      { ...USERS[0], roles: [{ ...USERS[0]?.roles[0], secretColour: 'SUPER-SECRET-VALUE' }] },
    ];
    const field = fieldOfThrown(() => parseUsers(bad));
    expect(field).toContain('[0].roles[0].secretColour: unknown field');
    expect(field).not.toContain('SUPER-SECRET-VALUE');
  });

  test('wrong types and formats name the field', () => {
    expect(fieldOfThrown(() => parseUsers([{ uid: 'abc', name: 'x', roles: [] }]))).toMatch(
      /\[0\]\.uid/,
    );
    expect(
      fieldOfThrown(() =>
        parseUsers([
          {
            uid: '1',
            name: 'x',
            roles: [{ id: '2', orgCode: 'A', orgName: 'B', jobRole: 'Clinical', jobRoleCode: 'C' }],
          },
        ]),
      ),
    ).toMatch(/\[0\]\.roles\[0\]\.jobRole/);
    expect(fieldOfThrown(() => parseUsers({ uid: '1' }))).toMatch(/\(root\): expected array/);
  });

  test('duplicate uids or role ids are refused', () => {
    expect(fieldOfThrown(() => parseUsers([USERS[0], USERS[0]]))).toBe('[1].uid: duplicate');
  });

  test('a file that is not JSON is ERR_SPINE_SIM_USERS_UNREADABLE', () => {
    const p = join(dir, 'bad.json');
    writeFileSync(p, '{ nope');
    expect(() => loadUsersFile(p)).toThrow(
      expect.objectContaining({ code: 'ERR_SPINE_SIM_USERS_UNREADABLE' }),
    );
    expect(() => loadUsersFile(join(dir, 'missing.json'))).toThrow(
      expect.objectContaining({ code: 'ERR_SPINE_SIM_USERS_UNREADABLE' }),
    );
  });
});
