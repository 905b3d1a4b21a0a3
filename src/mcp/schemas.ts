import type { TObject, TSchema } from '@sinclair/typebox';
import { z } from 'zod';
import { BookingBody } from '../protocol/schemas/booking.js';
import { OrchestrateBody, OrchestrateConstraints } from '../protocol/schemas/orchestrate.js';
import { DiscoverQuery, NodesQueryProperties } from '../protocol/schemas/queries.js';

/**
 * Tool input schemas, derived from the protocol's TypeBox schemas (the JSON Schema that validates
 * the HTTP API and documents it in OpenAPI), so a tool takes exactly what its endpoint takes. The
 * MCP SDK speaks zod; zod reads JSON Schema (`z.fromJSONSchema`), so the protocol stays the one
 * source. Every tool object is strict: a misspelt field is refused, never silently dropped.
 */

/** Plain JSON Schema: TypeBox's symbol-keyed metadata dropped. */
const plain = (s: TSchema): Record<string, unknown> =>
  JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
const fromProtocol = (s: TSchema) => z.fromJSONSchema(plain(s) as Parameters<typeof z.fromJSONSchema>[0]);

/**
 * Discovery filters are query strings on the wire; an agent may give them as numbers or booleans
 * (`max_price: 2.5`), which the client sends as their text. Descriptions come from the protocol.
 */
function queryShape(props: TObject['properties']): Record<string, z.ZodType> {
  const out: Record<string, z.ZodType> = {};
  for (const [k, s] of Object.entries(props)) {
    const d = (s as { description?: string }).description ?? '';
    out[k] = z.union([z.string(), z.number(), z.boolean()]).optional().describe(d);
  }
  return out;
}

/** The parameters only /discover takes; given any of them, find_compute asks /discover. */
export const DISCOVER_ONLY = Object.keys(DiscoverQuery.properties).filter(
  (k) => !(k in NodesQueryProperties),
);

export const findComputeInput = z.strictObject(queryShape(DiscoverQuery.properties));

export const planWorkloadInput = fromProtocol(OrchestrateBody);

const payment = fromProtocol(BookingBody.properties.payment as TSchema).optional();

/** What a booking runs; the gateway's run-spec parser checks every field and names the one at fault. */
const run = z
  .looseObject({
    command: z.array(z.string()).optional().describe('argv, e.g. ["sh", "-c", "echo hi > out.txt"]'),
    wasm: z.record(z.string(), z.unknown()).optional().describe('{module: {base64|url, sha256}, args}'),
    image: z.string().optional().describe('A container image, for providers that run images'),
    outputs: z.array(z.string()).optional().describe('Files to digest and return, relative to the work dir'),
    inputs: z.array(z.record(z.string(), z.unknown())).optional().describe('[{path, content|url, sha256}]'),
    timeout_s: z.number().optional(),
    env: z.record(z.string(), z.string()).optional(),
    checkpoint: z.record(z.string(), z.unknown()).optional().describe('{interval_s}'),
  })
  .describe(
    'What to run: one of command (argv), wasm or image, with outputs, inputs (pinned by sha256), timeout_s, env, checkpoint. Only providers that execute that form are used.',
  );

const idempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'visible ASCII characters only')
  .describe(
    'Any unique string (a UUID is typical). Repeating a call with the same key returns the first booking instead of booking twice; the same key with a different request is refused.',
  );

export const bookPlanInput = z.strictObject({
  plan_id: z.string().min(1).describe('A plan_id from plan_workload (plans expire: see its expires_at)'),
  idempotency_key: idempotencyKey,
  payment,
  run: run.optional(),
});

const constraints = fromProtocol(OrchestrateConstraints).optional();
const workload = fromProtocol((OrchestrateBody.properties as Record<string, TSchema>).workload as TSchema);

export const runJobInput = z.strictObject({
  workload: workload.describe(
    'As plan_workload takes it, e.g. {type: "cpu", compute_hours: 0.05} for a small job (vCPU-hours), or {type: "batch_processing", compute_hours: 2, memory_gb: 24}',
  ),
  constraints,
  run,
  max_cost_usd: z
    .number()
    .positive()
    .describe(
      'The most this job may cost, USD. Required: a plan costing more is refused and nothing is booked.',
    ),
  idempotency_key: idempotencyKey.optional(),
  payment,
  wait_s: z
    .number()
    .int()
    .min(0)
    .max(50)
    .optional()
    .describe('Seconds to wait for the job to finish before answering (default 20; 0 answers at once)'),
});

export const leaseIdInput = z.strictObject({
  lease_id: z.string().min(1).describe('A lease id (ls_…) from a booking'),
});

export const leaseLogsInput = z.strictObject({
  lease_id: z.string().min(1),
  tail: z.number().int().min(1).max(1000).optional().describe('Only the last N lines (default 100)'),
});

export const cancelLeaseInput = z.strictObject({
  lease_id: z.string().min(1),
  idempotency_key: idempotencyKey.optional(),
});

export const receiptInput = z.strictObject({
  receipt_id: z.string().min(1).optional().describe('A receipt id (rc_…)'),
  lease_id: z.string().min(1).optional().describe("Or a lease id: that lease's receipt"),
  check_outputs: z
    .boolean()
    .optional()
    .describe("Also fetch each output and check its SHA-256 against the receipt's (default false)"),
});

export const capabilitiesInput = z.strictObject({
  profile: z
    .string()
    .optional()
    .describe('One profile (GPU_TYPE_A, H100-SXM…); all profiles, bands, classes and aliases without it'),
});

export const emptyInput = z.strictObject({});
