import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { didKeyFromPublicKey } from '../identity/did-key.js';
import { createDidResolver, type DidSigner, signJws, verifyJws } from '../identity/jws.js';
import { generateKey, type KeyAlg } from '../identity/keys.js';
import {
  type Attestation,
  type AttestationBinding,
  createAttestationRegistry,
  NO_TEE_REASON,
  noneAttestation,
} from './attestation.js';
import { receiptDigest, signReceipt } from './proof.js';

const signer = (alg: KeyAlg): DidSigner => {
  const key = generateKey(alg);
  return { key, did: didKeyFromPublicKey(alg, key.publicKey) };
};
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const resolve = createDidResolver();

/**
 * A stand-in TEE for the registry tests: evidence is a JWS by a "vendor" key whose report_data is
 * sha256(receipt_digest || node). It follows the kind contract (vendor root, then binding) with
 * real signatures; it is not a model of any real TEE.
 */
function vendorKind(vendor: DidSigner): Attestation {
  return {
    kind: 'test-vendor',
    async verify(evidence, bind) {
      if (typeof evidence !== 'string') return { ok: false, reason: 'evidence must be a JWS' };
      let payload: unknown;
      try {
        ({ payload } = await verifyJws(evidence, resolve, { expectedDid: vendor.did, typ: 'test-quote' }));
      } catch (e) {
        return { ok: false, reason: `quote does not verify: ${(e as Error).message}` };
      }
      const report = (payload as { report_data?: unknown }).report_data;
      if (report !== sha(bind.receipt_digest + bind.node)) {
        return { ok: false, reason: 'quote is bound to another receipt or node' };
      }
      return { ok: true, claims: payload as Record<string, unknown> };
    },
  };
}
const quote = (vendor: DidSigner, bind: AttestationBinding) =>
  signJws({ report_data: sha(bind.receipt_digest + bind.node), tcb: 7 }, vendor, { typ: 'test-quote' });

const node = signer('Ed25519');
const bind = { receipt_digest: sha('a receipt'), node: node.did };

describe('attestation', () => {
  it('none: always no, whatever the evidence', async () => {
    for (const evidence of [undefined, null, {}, 'quote', { report_data: bind.receipt_digest }]) {
      assert.deepEqual(await noneAttestation.verify(evidence, bind), { ok: false, reason: NO_TEE_REASON });
    }
    assert.equal(NO_TEE_REASON, 'no TEE evidence: this host declares attestation: false');
  });

  it('the default registry has only none, and binds to a real receipt digest', async () => {
    const registry = createAttestationRegistry();
    assert.deepEqual(registry.kinds(), ['none']);
    const signed = signReceipt(
      {
        v: 1,
        lease_id: 'ls_01',
        booking_id: 'bk_01',
        manifest_digest: null,
        outputs: [],
        usage: { cpu_seconds: 0, wall_s: 0, peak_memory_bytes: 0 },
        exit_status: { code: 0, signal: null, reason: 'exited' },
        checkpoint_head: null,
        checkpoints: 0,
        node: node.did,
        completed_at: 1_750_000_000,
      },
      node,
    );
    const r = await registry.verify('none', {}, { receipt_digest: receiptDigest(signed), node: node.did });
    assert.deepEqual(r, { ok: false, reason: NO_TEE_REASON });
  });

  it('dispatches by kind; a kind checks the vendor and the binding', async () => {
    const vendor = signer('P-256');
    const registry = createAttestationRegistry([noneAttestation, vendorKind(vendor)]);
    assert.deepEqual(registry.kinds(), ['none', 'test-vendor']);
    const good = await registry.verify('test-vendor', quote(vendor, bind), bind);
    assert.equal(good.ok, true);
    assert.equal(good.ok && good.claims.tcb, 7);
    const cases: [string, unknown, AttestationBinding][] = [
      ['replayed for another receipt', quote(vendor, bind), { ...bind, receipt_digest: sha('another') }],
      ['replayed for another node', quote(vendor, bind), { ...bind, node: signer('Ed25519').did }],
      ['signed by someone else', quote(signer('P-256'), bind), bind],
      ['not a quote', { any: 'thing' }, bind],
    ];
    for (const [name, evidence, b] of cases) {
      assert.equal((await registry.verify('test-vendor', evidence, b)).ok, false, name);
    }
  });

  it('an unknown kind is a no that names the known kinds', async () => {
    const r = await createAttestationRegistry().verify('sev-snp', {}, bind);
    assert.deepEqual(r, { ok: false, reason: 'no verifier for attestation kind "sev-snp" (known: none)' });
  });

  it('refuses a bad or repeated kind, and a binding that is not a digest (caller bugs)', async () => {
    assert.throws(() => createAttestationRegistry([noneAttestation, noneAttestation]), TypeError);
    assert.throws(() => createAttestationRegistry([{ ...noneAttestation, kind: 'SEV SNP' }]), TypeError);
    await assert.rejects(
      createAttestationRegistry().verify('none', {}, { receipt_digest: 'abc', node: node.did }),
      TypeError,
    );
  });
});
