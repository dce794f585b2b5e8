/**
 * The response schemas of the agent's HTTP API (zod): the route tables use them and the OpenAPI document
 * (docs/openapi.json) is generated from them. Request schemas live beside their routes.
 */
import { z } from 'zod';

export const RoleSchema = z
  .object({
    id: z.string(),
    orgCode: z.string().optional(),
    orgName: z.string(),
    jobRole: z.tuple([z.string(), z.string(), z.string()]),
    jobRoleText: z.string(),
  })
  .meta({ id: 'Role', description: 'A Spine role profile of the logged-in user.' });

export const SessionStatusSchema = z
  .object({
    state: z.enum(['no-card', 'card-present', 'logging-in', 'role-required', 'active']),
    card: z.object({ label: z.string(), serial: z.string() }).optional(),
    uid: z.string().optional(),
    name: z.string().optional(),
    roles: z.array(RoleSchema),
    selectedRole: RoleSchema.optional(),
    sessionStartedAt: z.string().optional(),
    timeLeftSeconds: z.number().optional(),
    idleLeftSeconds: z.number().optional(),
    pin: z
      .object({
        triesLow: z.boolean(),
        finalTry: z.boolean(),
        locked: z.boolean(),
        apiLoginBlocked: z.boolean(),
        retryAfterMs: z.number(),
        failures: z.number().int(),
      })
      .optional()
      .describe('The card’s PIN state (docs/pin.md), present with a card.'),
  })
  .meta({ id: 'SessionStatus', description: 'The card and Spine session.' });

export const TicketSchema = z
  .object({ ticket: z.string().describe('The Spine SSO ticket (session token).') })
  .meta({ id: 'Ticket' });

export const OkSchema = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });

export const ProblemSchema = z
  .object({
    type: z
      .string()
      .describe(
        '`/errors#<code>`: resolved against the agent, the code’s entry in its error list.',
      ),
    title: z.string().describe('The code’s fixed message.'),
    status: z.number().int(),
    detail: z.string().describe('How to fix it (fixed text; never the input).'),
    code: z.string().regex(/^ERR_[A-Z0-9_]+$/),
    ticketApi: z
      .object({ name: z.string(), value: z.string() })
      .optional()
      .describe('The CIS Ticket API error name and value, for the Ticket API’s errors.'),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('The request fields that are wrong (paths only).'),
    retryAfterMs: z
      .number()
      .int()
      .optional()
      .describe(
        'ERR_PIN_BACKOFF: milliseconds until the next PIN try (also the Retry-After header).',
      ),
  })
  .meta({
    id: 'Problem',
    description: 'An error (RFC 9457 problem details, application/problem+json).',
  });

const SubIndicationSchema = z.enum([
  'FORMAT_FAILURE',
  'HASH_FAILURE',
  'SIG_CRYPTO_FAILURE',
  'REVOKED',
  'EXPIRED',
  'NOT_YET_VALID',
  'NO_CERTIFICATE_CHAIN_FOUND',
  'TRY_LATER',
  'CRYPTO_CONSTRAINTS_FAILURE',
  'CHAIN_CONSTRAINTS_FAILURE',
  'CERTIFICATE_CHAIN_GENERAL_FAILURE',
  'SIG_CONSTRAINTS_FAILURE',
  'SIGNED_DATA_NOT_FOUND',
  'NO_SIGNING_CERTIFICATE_FOUND',
  'REVOKED_CA_NO_POE',
  'OUT_OF_BOUNDS_NO_POE',
]);

export const VerificationReportSchema = z
  .object({
    format: z.string(),
    indication: z.enum(['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE']),
    subIndication: SubIndicationSchema.optional(),
    signer: z
      .object({
        name: z.string(),
        uid: z.string().optional(),
        certificateSerial: z.string(),
        issuer: z.string(),
      })
      .optional(),
    signingTime: z.string().optional(),
    chain: z.array(
      z.object({
        subject: z.string(),
        issuer: z.string(),
        serial: z.string(),
        notBefore: z.string(),
        notAfter: z.string(),
      }),
    ),
    checks: z.array(
      z.object({
        id: z.string(),
        title: z.string(),
        status: z.enum(['passed', 'failed', 'indeterminate', 'warning', 'skipped']),
        message: z.string().optional(),
        subIndication: SubIndicationSchema.optional(),
      }),
    ),
  })
  .meta({
    id: 'VerificationReport',
    description: 'A verification report (ETSI EN 319 102-1 indications; docs/verify.md).',
  });

export const EpsBatchResultSchema = z
  .object({
    certificate: z.string(),
    signatures: z.array(
      z.object({
        id: z.string(),
        signature: z.string(),
        signatureXml: z.string().describe('The XML-DSig Signature element (docs/signing.md).'),
        provenance: z
          .record(z.string(), z.unknown())
          .describe('The FHIR Provenance entry carrying the signature (docs/prescription.md).'),
        prescription: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('With a Bundle: what was signed (describePrescription).'),
        bundle: z
          .string()
          .optional()
          .describe('With a Bundle: the Bundle with the Provenance, ready for $process-message.'),
      }),
    ),
    failed_signatures: z.array(
      z.object({
        id: z.string(),
        code: z.string(),
        message: z.string(),
        issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      }),
    ),
  })
  .meta({
    id: 'EpsBatchResult',
    description:
      'Shaped like NHS Credential Management’s signPrescription answer (docs/signing.md).',
  });

export const CmsResultSchema = z
  .object({ format: z.enum(['der', 'pem']), cms: z.string() })
  .meta({ id: 'CmsResult' });

export const AgentStatusSchema = z
  .object({
    agent: z.object({ name: z.literal('rxsign'), version: z.string() }),
    card: z.object({
      present: z.boolean(),
      label: z.string().optional(),
      serial: z.string().optional(),
    }),
    session: z.object({
      state: SessionStatusSchema.shape.state,
      uid: z.string().optional(),
      name: z.string().optional(),
      selectedRole: RoleSchema.optional(),
      timeLeftSeconds: z.number().optional(),
    }),
    broker: z.object({
      url: z.string(),
      reachable: z
        .boolean()
        .nullable()
        .describe('Whether the last call to the broker got an answer; null before the first call.'),
    }),
    signing: z
      .boolean()
      .describe('Whether the signing routes are on (a card was configured or present).'),
  })
  .meta({ id: 'AgentStatus', description: 'The agent, card and session at a glance.' });
