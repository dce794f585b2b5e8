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
import express from 'express';
import { z } from 'zod';
import { createVerifier, Verifier, type VerifierOptions } from '../../verify/index.js';
import { apiError } from '../errors.js';
import { defineRouter, route, type ApiRouter } from '../route-table.js';
import { VerificationReportSchema } from '../schemas.js';

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

const TAG = 'Verification';

/**
 * @example
 * ```ts
 * createApp({ logger, routers: [verifyRouter({ anchors, intermediates, crls }), …], jsonLimit: '70mb' });
 * ```
 */
export function verifyRouter(options: VerifierOptions | Verifier = {}): ApiRouter {
  const verifier = options instanceof Verifier ? options : createVerifier(options);
  return defineRouter([
    route({
      method: 'post',
      path: '/api/v1/verify',
      tag: TAG,
      summary:
        'Verifies one document (HL7 v3, FHIR, CMS); a failed signature is a 200 with its report',
      rawBody: {
        contentTypes: [...RAW_TYPES, 'application/json'],
        description: 'The document itself, at most 50 MiB.',
      },
      use: [express.raw({ type: RAW_TYPES, limit: LIMIT })],
      responses: { 200: { description: 'The report.', schema: VerificationReportSchema } },
      errors: ['ERR_UNSUPPORTED_MEDIA_TYPE', 'ERR_LARGE_BODY_BUSY'],
      handle: async (req, res) => {
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
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/verify/batch',
      tag: TAG,
      summary: 'Verifies up to 100 documents (base64), one report each',
      body: Batch,
      responses: {
        200: {
          description: 'One report per document, in order.',
          schema: z.object({
            reports: z.array(z.object({ id: z.string(), report: VerificationReportSchema })),
          }),
        },
      },
      errors: ['ERR_LARGE_BODY_BUSY'],
      handle: async (_req, res, { documents }) => {
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
      },
    }),
  ]);
}
