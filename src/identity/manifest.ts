import { createHash } from 'node:crypto';
import { type DidResolver, type DidSigner, isDid, JwsError, signJws, verifyJws } from './jws.js';

/**
 * Signed workload manifests: what a requester asks a provider to run, signed with the requester's
 * DID key so the provider (and an auditor later) can check who asked for exactly what. A manifest
 * is a JWS (jws.ts) with `typ: computemd-manifest+jws`, so it can never pass for a UCAN or an
 * access token (both `typ: JWT`), nor they for it.
 *
 * - `run` is opaque here (command / wasm / image); only the runtime interprets it.
 * - Input paths are relative and stay inside the workload: no leading `/`, no `..` segment.
 * - Freshness is the caller's: this module does not judge `iat` against a clock nor remember
 *   nonces. Deduplicate on (requester, nonce), not on `digest`: an ES256 signature has two
 *   encodings (jws.ts), so one manifest can arrive under two digests.
 */
export interface WorkloadManifest {
  v: 1;
  /** The DID that signs the manifest. */
  requester: string;
  run: Record<string, unknown>;
  inputs: { path: string; sha256: string }[];
  resources: { cpus?: number; memory_gb?: number; gpus?: number };
  booking_id?: string;
  /** Epoch seconds. */
  iat: number;
  nonce: string;
}

export const MANIFEST_TYP = 'computemd-manifest+jws';
export const MAX_MANIFEST_INPUTS = 1000;

export type ManifestErrorCode = 'malformed' | 'bad_signature' | 'requester_mismatch' | 'invalid';

export interface ManifestProblem {
  /** JSON pointer into the manifest, e.g. `/inputs/0/sha256`. */
  param: string;
  detail: string;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly code: ManifestErrorCode,
    message: string,
    readonly problems?: ManifestProblem[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const FIELDS = new Set(['v', 'requester', 'run', 'inputs', 'resources', 'booking_id', 'iat', 'nonce']);
const RESOURCE_FIELDS = new Set(['cpus', 'memory_gb', 'gpus']);
const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const pointer = (...parts: (string | number)[]) =>
  parts.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

function pathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || path.length === 0 || path.length > 1024)
    return 'must be 1 to 1024 characters';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.startsWith('/')) return 'must be relative (no leading /)';
  if (path.split('/').some((seg) => seg === '..' || seg === ''))
    return "must not contain '..' or empty segments";
  return null;
}

/** Every problem with `m`, each named by a JSON pointer; unknown fields are problems too. */
export function checkManifest(
  m: unknown,
): { ok: true; value: WorkloadManifest } | { ok: false; problems: ManifestProblem[] } {
  const problems: ManifestProblem[] = [];
  const add = (param: string, detail: string) => problems.push({ param, detail });
  if (!isObject(m)) return { ok: false, problems: [{ param: '', detail: 'must be a JSON object' }] };
  for (const k of Object.keys(m)) if (!FIELDS.has(k)) add(pointer(k), 'is not a manifest field');
  if (m.v !== 1) add('/v', 'must be 1');
  if (!isDid(m.requester)) add('/requester', 'must be a DID');
  if (!isObject(m.run) || Object.keys(m.run).length === 0) add('/run', 'must be a non-empty object');
  if (!Array.isArray(m.inputs) || m.inputs.length > MAX_MANIFEST_INPUTS) {
    add('/inputs', `must be an array of at most ${MAX_MANIFEST_INPUTS} inputs`);
  } else {
    const seen = new Set<string>();
    for (const [i, input] of (m.inputs as unknown[]).entries()) {
      if (!isObject(input)) {
        add(pointer('inputs', i), 'must be an object {path, sha256}');
        continue;
      }
      for (const k of Object.keys(input)) {
        if (k !== 'path' && k !== 'sha256') add(pointer('inputs', i, k), 'is not an input field');
      }
      const why = pathProblem(input.path);
      if (why) add(pointer('inputs', i, 'path'), why);
      else if (seen.has(input.path as string)) add(pointer('inputs', i, 'path'), 'is listed twice');
      else seen.add(input.path as string);
      if (typeof input.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(input.sha256)) {
        add(pointer('inputs', i, 'sha256'), 'must be 64 lowercase hex characters');
      }
    }
  }
  if (!isObject(m.resources)) {
    add('/resources', 'must be an object');
  } else {
    for (const [k, v] of Object.entries(m.resources)) {
      if (!RESOURCE_FIELDS.has(k)) add(pointer('resources', k), 'is not a resource (cpus, memory_gb, gpus)');
      else if (
        k === 'gpus'
          ? !Number.isSafeInteger(v) || (v as number) < 0
          : !(typeof v === 'number' && v > 0 && Number.isFinite(v))
      ) {
        add(
          pointer('resources', k),
          k === 'gpus' ? 'must be an integer >= 0' : 'must be a finite number > 0',
        );
      }
    }
  }
  if (m.booking_id !== undefined && (typeof m.booking_id !== 'string' || !/^\S{1,128}$/.test(m.booking_id))) {
    add('/booking_id', 'must be 1 to 128 non-space characters');
  }
  if (!Number.isSafeInteger(m.iat) || (m.iat as number) < 0) add('/iat', 'must be integer epoch seconds');
  if (typeof m.nonce !== 'string' || !/^[\x21-\x7e]{8,128}$/.test(m.nonce)) {
    add('/nonce', 'must be 8 to 128 printable ASCII characters');
  }
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: m as unknown as WorkloadManifest };
}

const invalid = (problems: ManifestProblem[]) =>
  new ManifestError(
    'invalid',
    `manifest is invalid: ${problems.map((p) => `${p.param || '/'} ${p.detail}`).join('; ')}`,
    problems,
  );

/** Signs `m` as its requester. Throws ManifestError for an invalid manifest or another signer. */
export function signManifest(m: WorkloadManifest, by: DidSigner): string {
  const c = checkManifest(m);
  if (!c.ok) throw invalid(c.problems);
  if (m.requester !== by.did) {
    throw new ManifestError(
      'requester_mismatch',
      `manifest requester ${m.requester} is not the signer ${by.did}`,
    );
  }
  return signJws(c.value, by, { typ: MANIFEST_TYP });
}

/** SHA-256 hex of the compact JWS as sent: the name under which a run records its manifest. */
export function manifestDigest(jws: string): string {
  return createHash('sha256').update(jws, 'utf8').digest('hex');
}

/**
 * Verifies the signature (against the DID in `kid`), then the fields, then that the signer is the
 * requester. Throws ManifestError: malformed (not a manifest JWS), bad_signature (includes a DID
 * that does not resolve; see `cause`), invalid (with problems), requester_mismatch.
 */
export async function verifyManifest(
  jws: string,
  resolve: DidResolver,
): Promise<{ manifest: WorkloadManifest; did: string; digest: string }> {
  let v: Awaited<ReturnType<typeof verifyJws>>;
  try {
    v = await verifyJws(jws, resolve, { typ: MANIFEST_TYP });
  } catch (e) {
    if (!(e instanceof JwsError)) throw e;
    const signature = e.code === 'bad_signature' || e.code === 'unknown_key' || e.code === 'wrong_signer';
    throw new ManifestError(signature ? 'bad_signature' : 'malformed', `manifest: ${e.message}`, undefined, {
      cause: e,
    });
  }
  const c = checkManifest(v.payload);
  if (!c.ok) throw invalid(c.problems);
  if (c.value.requester !== v.did) {
    throw new ManifestError(
      'requester_mismatch',
      `manifest is signed by ${v.did} but names requester ${c.value.requester}. To fix: sign with the requester's key`,
    );
  }
  return { manifest: c.value, did: v.did, digest: manifestDigest(jws) };
}
