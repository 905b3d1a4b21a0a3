import { createHash } from 'node:crypto';
import type { Capabilities } from '../../src/agent/benchmark.js';
import { REGISTRATION_TYP } from '../../src/gateway/agents.js';
import { didKeyFromPublicKey } from '../../src/identity/did-key.js';
import { signJws } from '../../src/identity/jws.js';
import { generateKey } from '../../src/identity/keys.js';
import { checkpointDigest, signCheckpoint, signReceipt } from '../../src/runtime/proof.js';
import { ComputeMdClient } from '../../src/sdk/client.js';

/**
 * A node agent played by the test itself: its own Ed25519 key and did:key, registered with a real
 * gateway under a provider principal, sending real signed checkpoints, logs, outputs and a
 * receipt through the SDK. It stands in for `computemd node` where a test needs a lease with a
 * verifiable receipt but not a sandboxed process (execution.test.ts runs the real agent).
 */

const CAPS: Capabilities = {
  measured_at: '2026-11-25T00:00:00.000Z',
  method: 'benchmark',
  cpu: { cores: 4, model: null, gflops_per_core: 2, memory_bandwidth_gbs: 10 },
  memory_gb: 8,
  gpus: [],
  notes: [],
};

export interface FakeNode {
  name: string;
  did: string;
  /** The provider principal's client (compute/provide). */
  client: ComputeMdClient;
  /** Runs one lease to its end: checkpoints, logs, outputs, a receipt with `exit`. */
  complete(
    leaseId: string,
    bookingId: string,
    job?: { lines?: string[]; outputs?: Record<string, string>; exit?: number },
  ): Promise<{ receipt_id: string }>;
  /** Starts one lease (its first checkpoint) and leaves it running. */
  start(leaseId: string): Promise<void>;
  /** Takes and completes every lease assigned to it until stop() (a background loop). */
  serve(job?: { lines?: string[]; outputs?: Record<string, string> }): { stop(): Promise<void> };
}

export async function joinFakeNode(
  base: string,
  admin: string,
  name: string,
  /** Epoch ms as the gateway's clock reads it. */
  now: () => number,
  pricePerHour = 1,
): Promise<FakeNode> {
  const adminClient = new ComputeMdClient({ baseUrl: base, token: admin });
  const p = await adminClient.createPrincipal({ role: 'provider', name: `${name}-owner` });
  const client = new ComputeMdClient({ baseUrl: base, token: p.api_key.key });
  const key = generateKey('Ed25519');
  const node = { key, did: didKeyFromPublicKey('Ed25519', key.publicKey) };
  const nowS = () => Math.floor(now() / 1000);
  const registration = signJws(
    { v: 1, name, did: node.did, capabilities: CAPS, price_per_hour: pricePerHour, iat: nowS() },
    node,
    { typ: REGISTRATION_TYP },
  );
  await client.registerAgent(registration);
  const chains = new Map<string, string[]>();

  const checkpoint = async (leaseId: string, cpu: number) => {
    const chain = chains.get(leaseId) ?? [];
    const jws = signCheckpoint(
      {
        v: 1,
        lease_id: leaseId,
        seq: chain.length,
        at: nowS() + chain.length,
        cpu_seconds: cpu,
        peak_memory_bytes: 1_000_000,
        outputs_digest: null,
        prev: chain.length ? checkpointDigest(chain.at(-1) as string) : null,
        node: node.did,
      },
      node,
    );
    await client.postCheckpoint(leaseId, jws);
    chain.push(jws);
    chains.set(leaseId, chain);
  };

  const self: FakeNode = {
    name,
    did: node.did,
    client,
    start: (leaseId) => checkpoint(leaseId, 0),
    async complete(leaseId, bookingId, job = {}) {
      if (!chains.has(leaseId)) await checkpoint(leaseId, 0);
      const lines = job.lines ?? [];
      if (lines.length)
        await client.postLogs(
          leaseId,
          lines.map((line) => ({ stream: 'stdout', line })),
        );
      const outputs = Object.entries(job.outputs ?? {}).map(([n, content]) => ({
        name: n,
        sha256: createHash('sha256').update(content).digest('hex'),
        bytes: Buffer.byteLength(content),
      }));
      for (const [n, content] of Object.entries(job.outputs ?? {}))
        await client.putOutput(leaseId, n, new TextEncoder().encode(content));
      await checkpoint(leaseId, 1);
      const chain = chains.get(leaseId) as string[];
      const receipt = signReceipt(
        {
          v: 1,
          lease_id: leaseId,
          booking_id: bookingId,
          manifest_digest: null,
          outputs,
          usage: { cpu_seconds: 1, wall_s: chain.length - 1, peak_memory_bytes: 1_000_000 },
          exit_status: { code: job.exit ?? 0, signal: null, reason: 'exited' },
          checkpoint_head: checkpointDigest(chain.at(-1) as string),
          checkpoints: chain.length,
          node: node.did,
          completed_at: nowS() + chain.length,
        },
        node,
      );
      const r = await client.postReceipt(leaseId, receipt);
      return { receipt_id: r.receipt_id };
    },
    serve(job = {}) {
      let running = true;
      const loop = (async () => {
        while (running) {
          // No long poll: the gateway times one on its own clock, which a test may hold still.
          const work = await client.assignedLeases(name, 0);
          for (const w of work.leases) await self.complete(w.lease_id, w.booking_id, job);
          if (work.leases.length === 0) await new Promise((r) => setTimeout(r, 50));
        }
      })();
      return {
        async stop() {
          running = false;
          await loop;
        },
      };
    },
  };
  return self;
}
