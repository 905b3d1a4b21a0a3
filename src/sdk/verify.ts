import { createHash } from 'node:crypto';
import { createDidResolver } from '../identity/jws.js';
import { ProofError, type Receipt, verifyReceipt } from '../runtime/proof.js';
import type { RuntimeApi } from './runtime.js';
import type { ReceiptWire } from './types.js';

/** What checking a receipt found: `ok` with the signed receipt, or the first thing that failed. */
export interface ReceiptCheck {
  ok: boolean;
  receipt_id: string;
  lease_id: string;
  /** The DID that signed it (the node), as the receipt names it. */
  node: string;
  checkpoints: number;
  /** Outputs whose bytes were fetched and hashed here (with `outputs: true`). */
  outputs_checked: string[];
  receipt: Receipt | null;
  /** Why it failed: a ProofError code (bad_signature, broken_chain, invalid…) and its detail. */
  error: { code: string; detail: string; index?: number } | null;
}

/**
 * Fetches a receipt and its lease's checkpoint chain from the gateway and verifies them here,
 * offline, with nothing but the node's did:key: the signature, the chain (order, links, usage
 * never shrinking), that the receipt claims no more than the chain proves, and — with
 * `outputs: true` — that each output's bytes hash to the digest the receipt signs. The gateway is
 * not trusted for any of it: a receipt it altered fails. `node` pins the DID you expect; without
 * it the DID the receipt names is reported for you to compare.
 *
 * `id` is a receipt id (rc_…) or a lease id (its receipt). Transport errors throw ComputeMdError.
 */
export async function verifyLeaseReceipt(
  client: RuntimeApi,
  id: string,
  opts: { node?: string; outputs?: boolean } = {},
): Promise<ReceiptCheck> {
  const wire: ReceiptWire = id.startsWith('rc_') ? await client.receipt(id) : await client.leaseReceipt(id);
  const chain = await client.checkpointsAll(wire.lease_id);
  const jwsList = chain.checkpoints.map((c) => c.jws);
  const base = {
    receipt_id: wire.id,
    lease_id: wire.lease_id,
    node: wire.node,
    checkpoints: jwsList.length,
  };
  const outputs: { name: string; sha256: string }[] = [];
  try {
    const resolve = createDidResolver();
    // First without outputs: the receipt must verify before its output list is worth fetching.
    const receipt = await verifyReceipt(wire.jws, resolve, {
      node: opts.node ?? wire.node,
      lease_id: wire.lease_id,
      checkpoints: jwsList,
    });
    if (opts.outputs) {
      for (const o of receipt.outputs) {
        const bytes = await client.leaseOutput(wire.lease_id, o.name);
        outputs.push({ name: o.name, sha256: createHash('sha256').update(bytes).digest('hex') });
      }
      await verifyReceipt(wire.jws, resolve, { node: receipt.node, lease_id: wire.lease_id, outputs });
    }
    return { ...base, ok: true, outputs_checked: outputs.map((o) => o.name), receipt, error: null };
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    const problems = err.problems;
    const detail = problems?.length
      ? `${err.message}: ${problems.map((p) => `${p.param} ${p.detail}`).join('; ')}`
      : err.message;
    return {
      ...base,
      ok: false,
      outputs_checked: [],
      receipt: null,
      error: { code: err.code, detail, ...(err.index !== undefined ? { index: err.index } : {}) },
    };
  }
}
