/**
 * Verification routes. Rules:
 *   POST /api/v1/verify        raw body (application/xml, application/fhir+json, application/json,
 *                              application/pkcs7-mime, application/octet-stream), ≤ 50 MiB → one report;
 *   POST /api/v1/verify/batch  { documents: [{ id, content: base64, detachedContent?: base64 }] } (≤ 100) →
 *                              { reports: [{ id, report }] }.
 * - a verification outcome is always 200 with the report (failed signatures are not HTTP errors);
 * - other content types → 415; oversized bodies → 413. The app's JSON parser (createApp `jsonLimit`) runs
 *   before this router for application/json: the lead must set jsonLimit to at least the batch size needed.
 */
import express, { Router } from 'express';
import { z } from 'zod';
import { createVerifier, Verifier, type VerifierOptions } from '../../verify/index.js';
import { apiError } from '../errors.js';
import { parseBody } from '../validate.js';

const RAW_TYPES = [
  'application/xml',
  'text/xml',
  'application/fhir+json',
  'application/pkcs7-mime',
  'application/octet-stream',
];
const LIMIT = 50 * 1024 * 1024;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

const Batch = z
  .object({
    documents: z
      .array(
        z
          .object({
            id: z.string().min(1).max(128),
            content: z.string().min(1).regex(B64),
            detachedContent: z.string().regex(B64).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict();

/**
 * @example
 * ```ts
 * createApp({ logger, routers: [verifyRouter({ anchors, intermediates, crls }), …], jsonLimit: '70mb' });
 * ```
 */
export function verifyRouter(options: VerifierOptions | Verifier = {}): Router {
  const verifier = options instanceof Verifier ? options : createVerifier(options);
  const r = Router();
  const raw = express.raw({ type: RAW_TYPES, limit: LIMIT });
  r.post('/api/v1/verify', raw, async (req, res) => {
    let bytes: Uint8Array;
    if (Buffer.isBuffer(req.body)) {
      bytes = new Uint8Array(req.body);
    } else if (req.is('application/json') !== false && req.body !== undefined) {
      // Parsed already by the app's JSON parser: the FHIR JSON is read again from its value.
      bytes = new Uint8Array(Buffer.from(JSON.stringify(req.body), 'utf8'));
    } else {
      throw apiError('ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    res.json(await verifier.verifyDocument(bytes));
  });
  r.post('/api/v1/verify/batch', async (req, res) => {
    const { documents } = parseBody(Batch, req.body);
    const reports = [];
    for (const d of documents) {
      const report = await verifier.verifyDocument(
        new Uint8Array(Buffer.from(d.content, 'base64')),
        d.detachedContent === undefined
          ? {}
          : { detachedContent: new Uint8Array(Buffer.from(d.detachedContent, 'base64')) },
      );
      reports.push({ id: d.id, report });
    }
    res.json({ reports });
  });
  return r;
}
