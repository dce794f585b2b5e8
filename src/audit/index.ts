/**
 * The signing audit trail: a durable, hash-chained JSON-lines log of every signing attempt (see `log.ts` for the
 * storage and durability rules, `scan.ts` for what verification checks).
 *
 * @example
 * ```ts
 * import { openAuditLog, verifyAuditLog } from './audit/index.js';
 * const audit = await openAuditLog(config.auditLogPath);
 * await audit.append(entries); // before the signatures are returned
 * ```
 */
export { openAuditLog } from './log.js';
export type { AuditLog, OpenAuditLogOptions } from './log.js';
export { verifyAuditLog } from './verify.js';
export type { AuditVerifyResult } from './verify.js';
export type { BrokenRecord } from './scan.js';
export { BREAK_REASONS } from './scan.js';
export { defaultAuditLogPath } from './default-path.js';
export { AUDIT_ERRORS, auditError } from './errors.js';
export type { AuditErrorCode } from './errors.js';
export { GENESIS_PREV, canonicalJson, isAuditEntry } from './record.js';
export type {
  AuditEntry,
  AuditRecord,
  SignAttemptEntry,
  RepairEntry,
  SignOutcome,
} from './record.js';
