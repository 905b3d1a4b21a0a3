import { type Problem, problem } from '../protocol/problem.js';
import type { IdentityRepository } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { DidResolver } from './jws.js';
import { ManifestError, verifyManifest, type WorkloadManifest } from './manifest.js';

/**
 * The gateway's check of a signed workload manifest (issue 5, part 5), before a booking that
 * carries one is accepted; node agents repeat the signature check before they run it (issue 6).
 *
 * - The signature must verify against the DID in its `kid`, and that DID must be the manifest's
 *   `requester` (manifest.ts);
 * - that DID must be the booking principal's own (the operator's is the gateway's DID);
 * - `iat` must be recent: not more than 5 minutes ahead of the gateway's clock, nor older than a day.
 *
 * Failures are problems naming `/manifest`: a manifest that does not parse is 400, one whose
 * signature does not verify (a tampered one) 422 `invalid-signature`, one signed by somebody else
 * 403.
 */
export type ManifestCheck = (
  jws: string,
  principal: string,
) => Promise<
  { ok: true; digest: string; signer: string; manifest: WorkloadManifest } | { ok: false; problem: Problem }
>;

const SKEW_S = 300;
const MAX_AGE_S = 86_400;

export function createManifestCheck(d: {
  repo: IdentityRepository;
  resolveDid: DidResolver;
  clock: Clock;
}): ManifestCheck {
  return async (jws, principal) => {
    const fail = (p: Problem) => ({ ok: false as const, problem: p });
    let v: Awaited<ReturnType<typeof verifyManifest>>;
    try {
      v = await verifyManifest(jws, d.resolveDid);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      return fail(manifestProblem(err));
    }
    const p = await d.repo.getPrincipal(principal);
    if (!p || p.did !== v.did)
      return fail(
        problem(
          'forbidden',
          p?.did
            ? `The manifest is signed by ${v.did}, not by your DID ${p.did}. Sign it with your own key.`
            : `The manifest is signed by ${v.did}, but principal ${principal} has no DID registered. To fix: the operator registers your DID (POST /principals {did}).`,
          { param: '/manifest', signer: v.did },
        ),
      );
    const now = Math.floor(d.clock.now() / 1000);
    if (v.manifest.iat > now + SKEW_S || v.manifest.iat < now - MAX_AGE_S)
      return fail(
        problem(
          'invalid-body',
          `/manifest: iat ${v.manifest.iat} is not within a day before now (${now}); sign a fresh manifest.`,
          {
            param: '/manifest/iat',
          },
        ),
      );
    return { ok: true, digest: v.digest, signer: v.did, manifest: v.manifest };
  };
}

/** A manifest that failed verification as a problem naming `/manifest` (or the field inside it). */
export function manifestProblem(err: ManifestError): Problem {
  if (err.code === 'bad_signature')
    return problem(
      'invalid-signature',
      `The workload manifest's signature does not verify: ${err.message}. It was changed after signing, or signed with another key.`,
      { param: '/manifest', reason: err.code },
    );
  const first = err.problems?.[0];
  return problem('invalid-body', `/manifest: ${first ? `${first.param}: ${first.detail}` : err.message}`, {
    param: first ? `/manifest${first.param}` : '/manifest',
    reason: err.code,
    ...(err.problems
      ? { invalid_params: err.problems.map((p) => ({ name: `/manifest${p.param}`, reason: p.detail })) }
      : {}),
  });
}
