import { createHash } from 'node:crypto';
import {
  type DidResolver,
  type DidSigner,
  JwsError,
  signJws,
  type VerifiedJws,
  verifyJws,
} from '../identity/jws.js';
import {
  CHECKPOINT_TYP,
  type Checkpoint,
  checkCheckpoint,
  checkReceipt,
  invalid,
  ProofError,
  type ProofErrorCode,
  type ProofProblem,
  pointer,
  RECEIPT_TYP,
  type Receipt,
  type Usage,
} from './proof-fields.js';

export * from './proof-fields.js';

/** Signing and verifying checkpoints and receipts; their fields and errors are in proof-fields.ts. */
// ---- signing -------------------------------------------------------------------------------

function signAs(what: string, node: DidSigner, claimed: string, payload: unknown, typ: string): string {
  if (claimed !== node.did) {
    throw new ProofError(
      'wrong_signer',
      `${what} node ${claimed} is not the signer ${node.did}. To fix: sign with the node's own key`,
    );
  }
  return signJws(payload, node, { typ });
}

/** Signs `c` as its node. Throws ProofError: invalid (with problems), wrong_signer. */
export function signCheckpoint(c: Checkpoint, node: DidSigner): string {
  const r = checkCheckpoint(c);
  if (!r.ok) throw invalid('checkpoint', r.problems);
  return signAs('checkpoint', node, c.node, r.value, CHECKPOINT_TYP);
}

/** Signs `r` as its node. Throws ProofError: invalid (with problems), wrong_signer. */
export function signReceipt(r: Receipt, node: DidSigner): string {
  const c = checkReceipt(r);
  if (!c.ok) throw invalid('receipt', c.problems);
  return signAs('receipt', node, r.node, c.value, RECEIPT_TYP);
}

/** SHA-256 hex of the compact JWS as sent: what the next checkpoint's `prev` names. */
export function checkpointDigest(jws: string): string {
  return createHash('sha256').update(jws, 'utf8').digest('hex');
}

/** SHA-256 hex of a receipt's compact JWS: what TEE evidence binds to (attestation.ts). */
export const receiptDigest = checkpointDigest;

// ---- verifying -----------------------------------------------------------------------------

/** verifyJws with its errors as ProofErrors; the signer must name itself in `kid`. */
async function verifySigned(
  jws: string,
  resolve: DidResolver,
  typ: string,
  what: string,
  node: string | undefined,
  index: number | undefined,
): Promise<VerifiedJws> {
  let v: VerifiedJws;
  try {
    v = await verifyJws(jws, resolve, { typ, ...(node === undefined ? {} : { expectedDid: node }) });
  } catch (e) {
    if (!(e instanceof JwsError)) throw e;
    const code =
      e.code === 'wrong_signer'
        ? 'wrong_signer'
        : e.code === 'bad_signature' || e.code === 'unknown_key'
          ? 'bad_signature'
          : 'malformed';
    throw new ProofError(code, `${what}: ${e.message}`, { index, cause: e });
  }
  if (v.header.kid === undefined) {
    throw new ProofError(
      'malformed',
      `${what} has no kid. To fix: sign with signCheckpoint or signReceipt, which set it`,
      {
        index,
      },
    );
  }
  return v;
}

function signedBy(v: VerifiedJws, claimed: string, what: string, index?: number): void {
  if (claimed !== v.did) {
    throw new ProofError('wrong_signer', `${what} names node ${claimed} but is signed by ${v.did}`, {
      index,
    });
  }
}

/** A checkpoint verifyCheckpoint accepted, with the exact JWS it came in. */
export type CheckpointLink = { jws: string; checkpoint: Checkpoint };

/** The chain rules between `c` and the checkpoint before it (null: `c` must open the chain). */
function follows(c: Checkpoint, prev: CheckpointLink | null, index: number | undefined): void {
  const fail = (code: ProofErrorCode, msg: string) =>
    new ProofError(code, `checkpoint seq ${c.seq}: ${msg}`, { index });
  if (prev === null) {
    if (c.seq !== 0) throw fail('out_of_order', 'expected seq 0, the first of the lease');
    if (c.prev !== null) throw fail('broken_chain', 'the first checkpoint must have prev null');
    return;
  }
  const p = prev.checkpoint;
  if (c.seq !== p.seq + 1) {
    const why = c.seq <= p.seq ? 'replayed or reordered' : 'a checkpoint is missing';
    throw fail('out_of_order', `expected seq ${p.seq + 1} after seq ${p.seq} (${why})`);
  }
  if (c.prev !== checkpointDigest(prev.jws)) {
    throw fail('broken_chain', `prev ${c.prev} is not the digest of checkpoint seq ${p.seq}`);
  }
  if (c.at < p.at) throw fail('time_backwards', `at ${c.at} is before seq ${p.seq}'s at ${p.at}`);
  for (const k of ['cpu_seconds', 'peak_memory_bytes'] as const) {
    if (c[k] < p[k]) throw fail('usage_decreasing', `${k} ${c[k]} is below seq ${p.seq}'s ${p[k]}`);
  }
}

async function verifyOne(
  jws: string,
  resolve: DidResolver,
  expect: { lease_id: string; node: string; prev: CheckpointLink | null },
  index?: number,
): Promise<Checkpoint> {
  const v = await verifySigned(jws, resolve, CHECKPOINT_TYP, 'checkpoint', expect.node, index);
  const r = checkCheckpoint(v.payload);
  if (!r.ok) throw invalid('checkpoint', r.problems, index);
  signedBy(v, r.value.node, 'checkpoint', index);
  if (r.value.lease_id !== expect.lease_id) {
    throw new ProofError(
      'wrong_lease',
      `checkpoint is for lease ${r.value.lease_id}, expected ${expect.lease_id}`,
      { index },
    );
  }
  follows(r.value, expect.prev, index);
  return r.value;
}

/**
 * Verifies one checkpoint: signed by `expect.node` (kid and payload), for `expect.lease_id`, and
 * following `expect.prev` — which must be a checkpoint this function already accepted, with the
 * exact JWS it came in. Throws ProofError.
 */
export function verifyCheckpoint(
  jws: string,
  resolve: DidResolver,
  expect: { lease_id: string; node: string; prev: CheckpointLink | null },
): Promise<Checkpoint> {
  return verifyOne(jws, resolve, expect);
}

/**
 * Verifies a whole chain from seq 0, in order. An empty list is an empty chain (it proves no
 * usage). Throws ProofError with `index`, the position of the first bad checkpoint.
 */
export async function verifyCheckpointChain(
  jwsList: readonly string[],
  resolve: DidResolver,
  expect: { lease_id: string; node: string },
): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  let prev: CheckpointLink | null = null;
  for (const [i, jws] of jwsList.entries()) {
    const checkpoint = await verifyOne(jws, resolve, { ...expect, prev }, i);
    out.push(checkpoint);
    prev = { jws, checkpoint };
  }
  return out;
}

/**
 * What a verified chain proves: cpu and memory peak as of its last checkpoint (they never
 * decrease), wall time from the first checkpoint to the last. Zero for an empty chain. Pass only
 * what verifyCheckpointChain returned.
 */
export function verifiedUsage(chain: readonly Checkpoint[]): Usage {
  const first = chain[0];
  const last = chain.at(-1);
  if (first === undefined || last === undefined) return { cpu_seconds: 0, wall_s: 0, peak_memory_bytes: 0 };
  return {
    cpu_seconds: last.cpu_seconds,
    wall_s: last.at - first.at,
    peak_memory_bytes: last.peak_memory_bytes,
  };
}

export interface VerifyReceiptExpect {
  node?: string;
  lease_id?: string;
  /** The lease's checkpoint chain as the node sent it: checks head, count, and usage bounds. */
  checkpoints?: readonly string[];
  /** CPU seconds the receipt may claim beyond the last checkpoint (one interval's worth). */
  slackCpuSeconds?: number;
  /** Digests the verifier computed itself. Outputs the receipt lists beyond these are unchecked. */
  outputs?: { name: string; sha256: string }[];
}

/** Usage the receipt claims beyond what `chain` proves, as problems. */
function usageProblems(r: Receipt, chain: readonly Checkpoint[], slack: number): ProofProblem[] {
  const proven = verifiedUsage(chain);
  // Time after the last checkpoint is the node's word; completed_at is signed and not before it.
  const tail = chain.length === 0 ? 0 : r.completed_at - (chain.at(-1) as Checkpoint).at;
  const bounds: [keyof Usage, number, string][] = [
    [
      'cpu_seconds',
      proven.cpu_seconds + slack,
      `the last checkpoint's ${proven.cpu_seconds} + ${slack} slack`,
    ],
    ['wall_s', proven.wall_s + tail, "completed_at - the first checkpoint's at"],
    ['peak_memory_bytes', proven.peak_memory_bytes, "the last checkpoint's"],
  ];
  return bounds
    .filter(([k, max]) => r.usage[k] > max)
    .map(([k, max, why]) => ({
      param: pointer('usage', k),
      detail: `is ${r.usage[k]}, above what the chain proves: ${max} (${why})`,
    }));
}

/**
 * Verifies a receipt: signature, fields, signer = payload node, then each expectation given.
 * With `checkpoints`, the chain is verified too (its errors keep their codes and `index`).
 * Throws ProofError; a lying output digest or usage beyond the chain is 'invalid' with problems.
 */
export async function verifyReceipt(
  jws: string,
  resolve: DidResolver,
  expect: VerifyReceiptExpect = {},
): Promise<Receipt> {
  const v = await verifySigned(jws, resolve, RECEIPT_TYP, 'receipt', expect.node, undefined);
  const c = checkReceipt(v.payload);
  if (!c.ok) throw invalid('receipt', c.problems);
  const r = c.value;
  signedBy(v, r.node, 'receipt');
  if (expect.lease_id !== undefined && r.lease_id !== expect.lease_id) {
    throw new ProofError('wrong_lease', `receipt is for lease ${r.lease_id}, expected ${expect.lease_id}`);
  }
  const slack = expect.slackCpuSeconds ?? 0;
  if (!(Number.isFinite(slack) && slack >= 0))
    throw new TypeError('slackCpuSeconds must be a finite number >= 0');
  const problems: ProofProblem[] = [];
  if (expect.checkpoints !== undefined) {
    const list = expect.checkpoints;
    const chain = await verifyCheckpointChain(list, resolve, { lease_id: r.lease_id, node: r.node });
    const head = list.length === 0 ? null : checkpointDigest(list.at(-1) as string);
    if (r.checkpoint_head !== head || r.checkpoints !== list.length) {
      throw new ProofError(
        'broken_chain',
        `receipt names ${r.checkpoints} checkpoints ending at ${r.checkpoint_head}; the chain given has ${list.length} ending at ${head}. To fix: pass every checkpoint of the lease exactly as the node sent it`,
      );
    }
    const last = chain.at(-1);
    if (last !== undefined && r.completed_at < last.at) {
      throw new ProofError('time_backwards', `receipt completed_at ${r.completed_at} is before ${last.at}`);
    }
    problems.push(...usageProblems(r, chain, slack));
  }
  for (const want of expect.outputs ?? []) {
    const i = r.outputs.findIndex((o) => o.name === want.name);
    const got = r.outputs[i];
    if (got === undefined) {
      problems.push({ param: '/outputs', detail: `does not list output ${want.name}` });
    } else if (got.sha256 !== want.sha256.toLowerCase()) {
      problems.push({
        param: pointer('outputs', i, 'sha256'),
        detail: `output ${want.name} is ${got.sha256} in the receipt but ${want.sha256} as the verifier hashed it: the node reports a result it did not produce`,
      });
    }
  }
  if (problems.length > 0) throw invalid('receipt', problems);
  return r;
}
