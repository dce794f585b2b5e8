import { describe, expect, test } from 'vitest';
import {
  GENESIS_PREV,
  canonicalJson,
  isAuditEntry,
  isAuditRecordShape,
  recordHash,
  sealRecord,
} from '../../src/audit/record.js';
import { omit, refusedEntry, sha256, signedEntry } from './fixtures.js';

const chain = { seq: 1, time: '2025-01-02T03:04:05.678Z', prev: GENESIS_PREV };

describe('audit record', () => {
  test('RFC 8785 §3.2.3: canonical JSON sorts keys by UTF-16 code units and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: ['x', null], B: { d: true, c: 'é' } })).toBe(
      '{"B":{"c":"é","d":true},"a":["x",null],"b":1}',
    );
  });

  test('canonical JSON refuses values outside the record subset (floats, undefined)', () => {
    expect(() => canonicalJson(1.5)).toThrow(TypeError);
    expect(() => canonicalJson({ a: undefined })).toThrow(TypeError);
  });

  test('a sealed record is one canonical line whose hash covers every field but hash', () => {
    const { record, line } = sealRecord(signedEntry(), chain);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).toBe(canonicalJson(record));
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(record.hash).toBe(recordHash(record));
    expect(record.hash).toBe(sha256(canonicalJson(omit(record, 'hash'))));
    expect(isAuditRecordShape(JSON.parse(line))).toBe(true);
  });

  test('every kind of record seals to exactly canonicalJson(record), hashed without its hash field', () => {
    const repair = {
      kind: 'repair',
      reason: 'torn-tail',
      droppedBytes: 17,
      droppedSha256: 'a'.repeat(64),
      quarantine: 'audit.log.torn-0123456789ab',
    } as const;
    for (const entry of [signedEntry(3), refusedEntry(), repair]) {
      const { record, line } = sealRecord(entry, { ...chain, seq: 41 });
      expect(line).toBe(`${canonicalJson(record)}\n`);
      expect(record.hash).toBe(sha256(canonicalJson(omit(record, 'hash'))));
      expect(isAuditRecordShape(JSON.parse(line))).toBe(true);
    }
  });

  test('rejects an entry with an extra field, so a PIN can never be stored', () => {
    expect(isAuditEntry({ ...signedEntry(), pin: '1234' })).toBe(false);
    expect(isAuditEntry({ ...signedEntry(), ticket: 'abc' })).toBe(false);
  });

  test('rejects a stored record with an extra field', () => {
    const { record } = sealRecord(signedEntry(), chain);
    expect(isAuditRecordShape({ ...record, pin: '1234' })).toBe(false);
  });

  test('rejects an entry with a missing field', () => {
    expect(isAuditEntry(omit(signedEntry(), 'role'))).toBe(false);
  });

  test('accepts a refused attempt with its error code and unknown card fields', () => {
    expect(isAuditEntry(refusedEntry())).toBe(true);
    expect(
      isAuditEntry({ ...refusedEntry(), cardSerial: null, uid: null, role: null, algorithm: null }),
    ).toBe(true);
  });

  test('rejects signed with an error code, and refused or failed without one', () => {
    expect(isAuditEntry(signedEntry(1, { errorCode: 'ERR_X' }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { outcome: 'refused' }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { outcome: 'failed' }))).toBe(false);
  });

  test('rejects signed without a certificate serial, an algorithm or a payload hash', () => {
    expect(isAuditEntry(signedEntry(1, { certSerial: null }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { algorithm: null }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { payloadSha256: [] }))).toBe(false);
  });

  test('rejects payload hashes that are not lowercase hex SHA-256', () => {
    expect(isAuditEntry(signedEntry(1, { payloadSha256: ['ABC'] }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { payloadSha256: [sha256('x').toUpperCase()] }))).toBe(
      false,
    );
  });

  test('rejects strings with control characters or over their limit', () => {
    expect(isAuditEntry(signedEntry(1, { client: 'a\nb' }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { client: 'x'.repeat(257) }))).toBe(false);
    expect(isAuditEntry(signedEntry(1, { documentIds: [''] }))).toBe(false);
  });

  test('rejects a non-plain object (class instance) as an entry', () => {
    class Entry {}
    expect(isAuditEntry(Object.assign(new Entry(), signedEntry()))).toBe(false);
  });
});
