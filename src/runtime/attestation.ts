/**
 * TEE attestation, pluggable (issue 6, part 5): hardware evidence that a receipt (proof.ts) came
 * from code running in a trusted execution environment, which would turn the node's word about
 * its usage and outputs into the hardware vendor's.
 *
 * No TEE exists here: no provider declares `attestation: true` (providers/*: capabilities), so
 * the only kind registered by default is `none`, which always answers no. A real kind (SEV-SNP,
 * TDX, Nitro…) is one object added to the list given to createAttestationRegistry; nothing
 * registers itself on import.
 *
 * Contract for a kind's `verify`: answer `ok: true` only when the evidence chains to the vendor's
 * root AND its report data commits to `bind` (the receipt's digest and the node's DID), so that
 * evidence for one receipt cannot be replayed for another. Evidence that does not check out is an
 * expected outcome, `{ ok: false, reason }`; a throw means a bug in the verifier.
 */
export interface AttestationBinding {
  /** receiptDigest of the receipt's compact JWS (proof.ts). */
  receipt_digest: string;
  /** The node's DID, the receipt's signer. */
  node: string;
}

export type AttestationResult = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

export interface Attestation {
  /** Lower-case name, e.g. `sev-snp`; also the `kind` evidence is submitted under. */
  kind: string;
  verify(evidence: unknown, bind: AttestationBinding): Promise<AttestationResult>;
}

export const NO_TEE_REASON = 'no TEE evidence: this host declares attestation: false';

/** The kind for hosts without a TEE: whatever the evidence, the answer is no. */
export const noneAttestation = {
  kind: 'none',
  verify: async (_evidence: unknown, _bind: AttestationBinding): Promise<AttestationResult> => ({
    ok: false,
    reason: NO_TEE_REASON,
  }),
} satisfies Attestation;

export interface AttestationRegistry {
  kinds(): string[];
  /** An unknown kind is `{ ok: false }` naming the known ones, not an exception. */
  verify(kind: string, evidence: unknown, bind: AttestationBinding): Promise<AttestationResult>;
}

const KIND = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** One explicit map from kind to verifier. Throws TypeError for a bad or repeated kind. */
export function createAttestationRegistry(
  list: readonly Attestation[] = [noneAttestation],
): AttestationRegistry {
  const byKind = new Map<string, Attestation>();
  for (const a of list) {
    if (!KIND.test(a.kind))
      throw new TypeError(`attestation kind ${JSON.stringify(a.kind)} is not [a-z0-9-]`);
    if (byKind.has(a.kind)) throw new TypeError(`attestation kind ${a.kind} is registered twice`);
    byKind.set(a.kind, a);
  }
  return {
    kinds: () => [...byKind.keys()],
    async verify(kind, evidence, bind) {
      if (!/^[0-9a-f]{64}$/.test(bind.receipt_digest)) {
        throw new TypeError('attestation bind.receipt_digest must be 64 lowercase hex characters');
      }
      const a = byKind.get(kind);
      if (a === undefined) {
        const known = [...byKind.keys()].join(', ') || 'none registered';
        return {
          ok: false,
          reason: `no verifier for attestation kind ${JSON.stringify(kind)} (known: ${known})`,
        };
      }
      return a.verify(evidence, bind);
    },
  };
}
