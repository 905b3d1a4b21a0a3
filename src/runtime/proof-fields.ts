import { isDid } from '../identity/jws.js';

/**
 * Proof of compute (issue 6, parts 4 and 5): a node's signed account of a lease, which anyone
 * holding the node's DID can check — offline for a did:key, nothing but the JWS and the DID.
 *
 * - Checkpoints: every interval the node agent signs the lease's usage so far, each one naming
 *   the previous one's compact JWS by SHA-256 (`prev`). Without the node's key a chain can be cut
 *   short, but not reordered, spliced, forked, back-dated or made to use less than it did.
 * - Receipt: signed at completion. It names the chain's head and length, so a verifier holding
 *   the chain checks that the receipt claims no more than the chain proves, and it lists each
 *   output's digest, so a verifier that hashes the outputs itself catches a node that lies about
 *   its result.
 * - What is NOT proven: that the figures are true. They are the node's own measurements; the
 *   chain proves only that the node committed to them in order, as time passed, and never took
 *   them back. Pay on verifiedUsage(chain). Stronger claims need hardware evidence
 *   (attestation.ts), which no host here has.
 * - The agent should emit seq 0 when the workload starts and a last checkpoint when it ends, and
 *   copy that checkpoint's usage into the receipt: a receipt may not claim more cpu than the last
 *   checkpoint plus the verifier's slack, nor a higher memory peak, nor more wall time than from
 *   the first checkpoint to completed_at.
 * - `prev` and `checkpoint_head` name exact bytes, and an ES256 signature has two encodings
 *   (jws.ts): store and forward a chain exactly as the node sent it.
 * - Both documents are JWS with their own `typ`, so neither passes for the other, for a manifest
 *   or for a UCAN. A `kid` is required (the node's DID URL): the signer never goes unnamed.
 */
export interface Checkpoint {
  v: 1;
  lease_id: string;
  /** 0, 1, 2… within the lease. */
  seq: number;
  /** Epoch seconds, integer. */
  at: number;
  cpu_seconds: number;
  peak_memory_bytes: number;
  /** SHA-256 hex over the outputs so far, or null. Opaque here: its recipe is the agent's. */
  outputs_digest: string | null;
  /** checkpointDigest of the previous checkpoint; null for seq 0. */
  prev: string | null;
  /** The node's DID; must be the signer's. */
  node: string;
}

export interface Usage {
  cpu_seconds: number;
  wall_s: number;
  peak_memory_bytes: number;
}

export interface Receipt {
  v: 1;
  lease_id: string;
  booking_id: string;
  /** manifestDigest of the lease's manifest, or null when it had none. */
  manifest_digest: string | null;
  outputs: { name: string; sha256: string; bytes: number }[];
  usage: Usage;
  /** code for an exit, signal for a kill; both null when the workload never ran. */
  exit_status: { code: number | null; signal: string | null; reason: string };
  /** checkpointDigest of the last checkpoint, or null when there were none. */
  checkpoint_head: string | null;
  checkpoints: number;
  node: string;
  /** Epoch seconds, integer. */
  completed_at: number;
}

export const CHECKPOINT_TYP = 'computemd-checkpoint+jws';
export const RECEIPT_TYP = 'computemd-receipt+jws';
/** A receipt must fit one JWS (64 KiB); bundle more outputs into an archive and list that. */
export const MAX_RECEIPT_OUTPUTS = 256;

export type ProofErrorCode =
  | 'malformed'
  | 'bad_signature'
  | 'wrong_signer'
  | 'wrong_lease'
  | 'broken_chain'
  | 'out_of_order'
  | 'time_backwards'
  | 'usage_decreasing'
  | 'invalid';

export interface ProofProblem {
  /** JSON pointer into the checkpoint or receipt, e.g. `/outputs/0/sha256`. */
  param: string;
  detail: string;
}

export class ProofError extends Error {
  override readonly name = 'ProofError';
  /** Position in the checkpoint list, for errors from a chain. */
  readonly index?: number;
  readonly problems?: ProofProblem[];
  constructor(
    readonly code: ProofErrorCode,
    message: string,
    options: { index?: number; problems?: ProofProblem[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.index !== undefined) this.index = options.index;
    if (options.problems !== undefined) this.problems = options.problems;
  }
}

// ---- fields ----------------------------------------------------------------------------------

type Rule = readonly [test: (x: unknown) => boolean, detail: string];
const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
export const pointer = (...parts: (string | number)[]) =>
  parts.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
const HEX64 = /^[0-9a-f]{64}$/;
const ID: Rule = [
  (x) => typeof x === 'string' && /^\S{1,128}$/.test(x),
  'must be 1 to 128 non-space characters',
];
const NAT: Rule = [(x) => Number.isSafeInteger(x) && (x as number) >= 0, 'must be an integer >= 0'];
const EPOCH: Rule = [NAT[0], 'must be integer epoch seconds'];
const AMOUNT: Rule = [
  (x) => typeof x === 'number' && Number.isFinite(x) && x >= 0,
  'must be a finite number >= 0',
];
const DIGEST: Rule = [(x) => typeof x === 'string' && HEX64.test(x), 'must be 64 lowercase hex characters'];
const DIGEST_OR_NULL: Rule = [
  (x) => x === null || DIGEST[0](x),
  'must be 64 lowercase hex characters or null',
];
const V1: Rule = [(x) => x === 1, 'must be 1'];
const DID: Rule = [isDid, 'must be a DID'];

/** Checks `x` against `rules` (unknown keys are problems too); appends to `out`. */
function checkObject(
  x: unknown,
  rules: Record<string, Rule>,
  at: string[],
  out: ProofProblem[],
): x is Record<string, unknown> {
  if (!isObject(x)) {
    out.push({ param: pointer(...at), detail: 'must be a JSON object' });
    return false;
  }
  for (const k of Object.keys(x)) {
    if (!Object.hasOwn(rules, k)) out.push({ param: pointer(...at, k), detail: 'is not a known field' });
  }
  for (const [k, [test, detail]] of Object.entries(rules)) {
    if (!test(x[k])) out.push({ param: pointer(...at, k), detail });
  }
  return true;
}

type Checked<T> = { ok: true; value: T } | { ok: false; problems: ProofProblem[] };
const result = <T>(x: unknown, problems: ProofProblem[]): Checked<T> =>
  problems.length > 0 ? { ok: false, problems } : { ok: true, value: x as T };

const CHECKPOINT_RULES: Record<keyof Checkpoint, Rule> = {
  v: V1,
  lease_id: ID,
  seq: NAT,
  at: EPOCH,
  cpu_seconds: AMOUNT,
  peak_memory_bytes: NAT,
  outputs_digest: DIGEST_OR_NULL,
  prev: DIGEST_OR_NULL,
  node: DID,
};

/** Every field problem of `x`, each named by a JSON pointer. Says nothing about the chain. */
export function checkCheckpoint(x: unknown): Checked<Checkpoint> {
  const problems: ProofProblem[] = [];
  checkObject(x, CHECKPOINT_RULES, [], problems);
  return result(x, problems);
}

const OUTPUT_NAME: Rule = [
  (x) =>
    typeof x === 'string' &&
    x.length > 0 &&
    x.length <= 1024 &&
    !x.includes('\0') &&
    !x.startsWith('/') &&
    !x.split('/').some((s) => s === '..' || s === ''),
  'must be a relative path of 1 to 1024 characters, without NUL, .. or empty segments',
];
const RECEIPT_RULES: Record<keyof Receipt, Rule> = {
  v: V1,
  lease_id: ID,
  booking_id: ID,
  manifest_digest: DIGEST_OR_NULL,
  outputs: [
    (x) => Array.isArray(x) && x.length <= MAX_RECEIPT_OUTPUTS,
    `must be an array of at most ${MAX_RECEIPT_OUTPUTS} outputs`,
  ],
  usage: [isObject, 'must be an object'],
  exit_status: [isObject, 'must be an object'],
  checkpoint_head: DIGEST_OR_NULL,
  checkpoints: NAT,
  node: DID,
  completed_at: EPOCH,
};
const OUTPUT_RULES = { name: OUTPUT_NAME, sha256: DIGEST, bytes: NAT };
const USAGE_RULES: Record<keyof Usage, Rule> = {
  cpu_seconds: AMOUNT,
  wall_s: AMOUNT,
  peak_memory_bytes: NAT,
};
const EXIT_RULES: Record<keyof Receipt['exit_status'], Rule> = {
  code: [(x) => x === null || Number.isSafeInteger(x), 'must be an integer or null'],
  signal: [
    (x) => x === null || (typeof x === 'string' && /^SIG[A-Z0-9]{1,16}$/.test(x)),
    'must be SIG… or null',
  ],
  reason: [(x) => typeof x === 'string' && x.length > 0 && x.length <= 512, 'must be 1 to 512 characters'],
};

/** Every field problem of `x`, each named by a JSON pointer. Says nothing about the chain. */
export function checkReceipt(x: unknown): Checked<Receipt> {
  const problems: ProofProblem[] = [];
  if (!checkObject(x, RECEIPT_RULES, [], problems)) return result(x, problems);
  if (isObject(x.usage)) checkObject(x.usage, USAGE_RULES, ['usage'], problems);
  if (isObject(x.exit_status)) {
    checkObject(x.exit_status, EXIT_RULES, ['exit_status'], problems);
    if (x.exit_status.code != null && x.exit_status.signal != null) {
      problems.push({ param: '/exit_status', detail: 'has both code and signal; a process ends one way' });
    }
  }
  if (Array.isArray(x.outputs) && x.outputs.length <= MAX_RECEIPT_OUTPUTS) {
    const seen = new Set<unknown>();
    for (const [i, o] of (x.outputs as unknown[]).entries()) {
      if (!checkObject(o, OUTPUT_RULES, ['outputs', String(i)], problems)) continue;
      const name = (o as Record<string, unknown>).name;
      if (seen.has(name)) problems.push({ param: pointer('outputs', i, 'name'), detail: 'is listed twice' });
      seen.add(name);
    }
  }
  if (NAT[0](x.checkpoints) && DIGEST_OR_NULL[0](x.checkpoint_head)) {
    if ((x.checkpoints === 0) !== (x.checkpoint_head === null)) {
      problems.push({ param: '/checkpoint_head', detail: 'must be null exactly when checkpoints is 0' });
    }
  }
  return result(x, problems);
}

export const invalid = (what: string, problems: ProofProblem[], index?: number) =>
  new ProofError(
    'invalid',
    `${what} is invalid: ${problems.map((p) => `${p.param || '/'} ${p.detail}`).join('; ')}`,
    { problems, index },
  );
