/**
 * The signing history for the agent page (docs/page.md): `GET /api/v1/audit/recent?limit=N` → the last N
 * records of the audit log (newest first) and the state of its hash chain (docs/audit.md).
 *
 * Rules:
 * - the page and the CLI only (never a web origin): the records name callers and documents;
 * - at most the last 2 MiB of the log are read for the records; the chain is checked whole, and its result
 *   kept while the file's size and modification time stay the same;
 * - a record line that does not parse is skipped (the chain status says whether the log is intact).
 */
import { apiRouter, documented, type ApiRouter, type RouteDoc } from '../route-table.js';
import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { verifyAuditLog, type AuditVerifyResult } from '../../audit/index.js';
import { parseBody } from '../validate.js';

const TAIL_BYTES = 2 * 1024 * 1024;
const Query = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();

export interface HistoryRecord {
  readonly seq: number;
  readonly time: string;
  readonly client: string;
  readonly kind: 'prescription' | 'document';
  readonly algorithm: string | null;
  readonly documentIds: readonly string[];
  readonly outcome: string;
  readonly errorCode: string | null;
}

async function tail(path: string, limit: number): Promise<HistoryRecord[]> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) {
      lines.shift(); // a partial first line
    }
    const out: HistoryRecord[] = [];
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i -= 1) {
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(lines[i] ?? '') as Record<string, unknown>;
      } catch {
        continue;
      }
      if (r.kind !== 'sign') {
        continue;
      }
      const ids = Array.isArray(r.documentIds) ? r.documentIds.map(String) : [];
      out.push({
        seq: Number(r.seq),
        time: String(r.time),
        client: String(r.client),
        kind: ids.length > 0 ? 'prescription' : 'document',
        algorithm: typeof r.algorithm === 'string' ? r.algorithm : null,
        documentIds: ids,
        outcome: String(r.outcome),
        errorCode: typeof r.errorCode === 'string' ? r.errorCode : null,
      });
    }
    return out;
  } finally {
    await fh.close();
  }
}

/**
 * @example
 * ```ts
 * createApp({ logger, routers: [auditRouter(() => config.auditLogPath), …] });
 * ```
 */
const AUDIT_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/audit/recent',
    tag: 'Audit',
    summary:
      'The latest signing records and the log’s chain status (query `limit`, 1–500, default 50; page and local key holders)',
    responses: {
      200: { description: '{ records: [...], chain: { ok, records, head?, reason?, brokenAt? } }' },
    },
    errors: [],
  },
];

export function auditRouter(path: () => string | undefined): ApiRouter {
  const r = apiRouter();
  let cached: { key: string; result: AuditVerifyResult } | undefined;
  r.get('/api/v1/audit/recent', async (req, res) => {
    const { limit } = parseBody(Query, req.query);
    const file = path();
    if (file === undefined) {
      res.json({ records: [], chain: { ok: true, records: 0 } });
      return;
    }
    let key: string;
    try {
      const s = await stat(file);
      key = `${s.size}:${s.mtimeMs}`;
    } catch {
      res.json({ records: [], chain: { ok: true, records: 0 } });
      return;
    }
    if (cached?.key !== key) {
      cached = { key, result: await verifyAuditLog(file) };
    }
    const chain = cached.result;
    res.json({
      records: await tail(file, limit),
      chain: {
        ok: chain.ok,
        records: chain.records,
        head: chain.head,
        ...(chain.firstBroken
          ? { reason: chain.firstBroken.reason, brokenAt: chain.firstBroken.seq }
          : {}),
      },
    });
  });
  return documented(r, AUDIT_ROUTES);
}
