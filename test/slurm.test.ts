import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createCapabilityCatalog } from '../src/capabilities/index.js';
import { ensureGatewayKey } from '../src/identity/gateway-key.js';
import { createDidResolver } from '../src/identity/jws.js';
import type { LeaseState, LeaseStatus } from '../src/providers/provider.js';
import { ProviderError } from '../src/providers/provider.js';
import { createSlurmProvider, type SlurmProvider } from '../src/providers/slurm/index.js';
import { verifyCheckpointChain, verifyReceipt } from '../src/runtime/proof.js';
import { systemClock } from '../src/util/clock.js';
import { type Json, startExecGateway, until } from './helpers/exec.js';
import { startTestGateway } from './helpers/gateway.js';

/**
 * The Slurm provider against a real cluster: scripts/slurm-local.sh's one node, or whatever
 * SLURM_CONF names. Without a cluster that answers `scontrol ping`, the suite is skipped with the
 * reason, unless COMPUTEMD_REQUIRE_SLURM=1 (CI), where that is a failure: an adapter never
 * silently passes.
 */

const REQUIRED = process.env.COMPUTEMD_REQUIRE_SLURM === '1';
const TERMINAL: LeaseState[] = ['succeeded', 'failed', 'terminated'];

const workRoot = mkdtempSync(path.join(os.tmpdir(), 'computemd-slurm-test-'));
after(() => rmSync(workRoot, { recursive: true, force: true }));

const provider = createSlurmProvider({
  clock: systemClock,
  capabilities: createCapabilityCatalog(),
  workRoot,
  timeoutMs: 15_000,
});

/** Why the cluster cannot be used, or null when it can. */
async function unreachable(p: SlurmProvider): Promise<string | null> {
  const conf = process.env.SLURM_CONF;
  // A SLURM_CONF naming a missing file makes every command retry for 60 s: say so at once.
  if (conf && !existsSync(conf)) return `SLURM_CONF=${conf} does not exist`;
  try {
    await p.client.ping();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls status until `done` holds (default: a terminal state); returns every status seen. */
async function watch(
  id: string,
  done: (s: LeaseStatus) => boolean = (s) => TERMINAL.includes(s.state),
  limitMs = 60_000,
): Promise<LeaseStatus[]> {
  const seen: LeaseStatus[] = [];
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    const s = await provider.leases.status(id);
    seen.push(s);
    if (done(s)) return seen;
    await sleep(200);
  }
  assert.fail(
    `job ${id} did not get there in ${limitMs / 1000} s; saw ${seen.map((s) => s.state).join(' → ')}`,
  );
}

let lease = 0;
const launch = async (command: string[], offerSku: string) =>
  provider.leases.launch({
    lease_id: `t${process.pid}-${++lease}`,
    offer_sku: offerSku,
    region: 'on-prem',
    nodes: 1,
    interruptible: false,
    run: { command, timeout_s: 300 },
  });

const why = await unreachable(provider);
if (why !== null) {
  const message = `no Slurm cluster answers (${why})`;
  if (REQUIRED)
    it('Slurm is reachable (COMPUTEMD_REQUIRE_SLURM=1)', () => {
      assert.fail(`${message}. Start one: export SLURM_CONF="$(scripts/slurm-local.sh)"`);
    });
  else
    it('slurm provider on a real cluster', {
      skip: `${message}; start one with scripts/slurm-local.sh, or set COMPUTEMD_REQUIRE_SLURM=1 to fail instead`,
    }, () => {});
} else {
  describe('slurm provider on a real cluster', () => {
    let sku = '';

    it('offers the node with its real CPU count, free, attested, unsimulated', async () => {
      const offers = await provider.listOffers({ now: Date.now() });
      assert.ok(offers.length > 0, 'sinfo lists no node');
      // scripts/slurm-local.sh registers the node with CPUs=$(nproc).
      const mine = offers.find((o) => o.vcpus === os.availableParallelism());
      assert.ok(
        mine,
        `no offer with ${os.availableParallelism()} CPUs among ${offers.map((o) => o.sku).join(', ')}`,
      );
      assert.equal(mine.provider, 'slurm');
      assert.equal(mine.price_per_hour, 0);
      assert.equal(mine.verification, 'provider_attested');
      assert.equal(mine.simulated, false);
      assert.ok(mine.available >= 0);
      sku = mine.sku;
    });

    it("sh -c 'echo hello; sleep 1': provisioning or running, then succeeded; output holds hello", async () => {
      const first = await launch(['sh', '-c', 'echo hello; sleep 1'], sku);
      assert.equal(first.state, 'provisioning');
      const seen = [first, ...(await watch(first.provider_lease_id))];
      const states = seen.map((s) => s.state);
      assert.equal(states.at(-1), 'succeeded', JSON.stringify(seen));
      assert.ok(
        states.slice(0, -1).every((s) => s === 'provisioning' || s === 'running'),
        states.join(' → '),
      );
      const out = path.join(workRoot, `t${process.pid}-${lease}`, 'output.log');
      assert.equal(readFileSync(out, 'utf8'), 'hello\n');
      // Finished: its node time is RunTime × 1 node, at least the second it slept.
      assert.ok((await provider.leases.usage(first.provider_lease_id)).node_seconds >= 1);
    });

    it('a job that exits 3 is failed, with exit code 3 in the detail', async () => {
      const { provider_lease_id: id } = await launch(['sh', '-c', 'exit 3'], sku);
      const last = (await watch(id)).at(-1)!;
      assert.equal(last.state, 'failed');
      assert.match(last.detail ?? '', /exit code 3\b/);
    });

    it('sleep 60: usage > 0 while it runs; scancel → terminated', async () => {
      const { provider_lease_id: id } = await launch(['sleep', '60'], sku);
      await watch(id, (s) => s.state === 'running');
      let usage = await provider.leases.usage(id);
      for (let i = 0; i < 50 && usage.node_seconds === 0; i++) {
        await sleep(200);
        usage = await provider.leases.usage(id);
      }
      assert.ok(usage.node_seconds > 0, JSON.stringify(usage));
      assert.ok(usage.cpu_seconds === null || usage.cpu_seconds >= 0);
      const t = await provider.leases.terminate(id);
      assert.equal(t.state, 'terminated');
      // Slurm itself then says CANCELLED (scontrol), and the lease stays terminated.
      const last = (await watch(id, (s) => /CANCELLED/.test(s.detail ?? ''))).at(-1)!;
      assert.equal(last.state, 'terminated', JSON.stringify(last));
    });

    it('enabled in the config, the gateway lists the cluster in /nodes', async () => {
      const t = await startTestGateway((c) => {
        c.providers.slurm.enabled = true;
        c.providers.slurm.price_per_node_hour = 0.25;
        c.providers.slurm.work_root = workRoot;
      });
      try {
        const r = await t.gw.app.inject({ method: 'GET', url: '/nodes?provider=slurm&min_available=0' });
        const offers = (r.json() as { offers: { vcpus: number; price_per_hour: number; provider: string }[] })
          .offers;
        assert.ok(offers.length > 0, r.body);
        assert.equal(offers[0]?.provider, 'slurm');
        assert.equal(offers[0]?.vcpus, os.cpus().length);
        assert.equal(offers[0]?.price_per_hour, 0.25);
      } finally {
        await t.gw.close();
      }
    });

    it('a booked run goes through /book to Slurm and ends with a receipt the gateway signed', async () => {
      const g = await startExecGateway((c) => {
        c.providers.slurm.enabled = true;
        c.providers.slurm.price_per_node_hour = 36;
        c.providers.slurm.work_root = workRoot;
      });
      const stop = g.gw.runtime.start(250);
      try {
        const alice = await g.requester('alice', 100);
        const offer = await g.offerOf('slurm');
        const b = await g.call('POST', '/book', alice.key, {
          allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }],
          payment: { method: 'credits' },
          run: { command: ['sh', '-c', 'echo from slurm; sleep 1'], timeout_s: 120 },
        });
        assert.equal(b.status, 201, JSON.stringify(b.body));
        const id = b.body.allocations[0].lease_id as string;
        const l = await until('the Slurm lease ends', 90_000, async () => {
          const r = (await g.call('GET', `/leases/${id}`, alice.key)).body;
          return ['completed', 'failed', 'cancelled'].includes(r.state) ? r : null;
        });
        assert.equal(l.state, 'completed', JSON.stringify(l.history));
        assert.equal(l.driver, 'provider');
        assert.equal(l.simulated, false);
        assert.deepEqual(
          l.history.map((h: Json) => h.to),
          ['provisioning', 'running', 'completed'],
        );
        // The receipt and its chain verify offline with the gateway's did:key: its word on what
        // Slurm reported.
        const gatewayDid = ensureGatewayKey(g.dataDir).did;
        const rc = (await g.call('GET', `/leases/${id}/receipt`, alice.key)).body;
        const chain = (await g.call('GET', `/leases/${id}/checkpoints`, alice.key)).body.checkpoints.map(
          (c: Json) => c.jws as string,
        );
        const resolve = createDidResolver();
        await verifyCheckpointChain(chain, resolve, { lease_id: id, node: gatewayDid });
        const r = await verifyReceipt(rc.jws, resolve, {
          node: gatewayDid,
          lease_id: id,
          checkpoints: chain,
        });
        assert.equal(r.exit_status.code, 0);
        await g.gw.ledger.service.settleDue();
        assert.deepEqual((await g.call('GET', '/ledger/verify', g.admin)).body, { ok: true, violations: [] });
      } finally {
        stop();
        await g.close();
      }
    });

    it('a partition the cluster does not have is a ProviderError naming it', async () => {
      await assert.rejects(
        launch(['true'], 'nosuch/c1-m1'),
        (e: unknown) =>
          e instanceof ProviderError && /no partition "nosuch"/.test(e.message) && /To fix/.test(e.message),
      );
    });
  });
}
