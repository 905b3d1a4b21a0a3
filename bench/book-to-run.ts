/**
 * From `POST /book` to the job's first instruction on the local node (issue 6, bar ≤ 300 ms): a
 * gateway and a node agent in this process, the agent holding its long poll open as it does in
 * service; each run books a lease whose command prints `date +%s%N` first thing, and the time is
 * that stamp minus the moment before the request was sent (one host clock: bwrap does not unshare
 * time). The baseline, measured in the same run: asking the sandbox directly for the same command
 * (no gateway, no booking, no agent). Median of RUNS each. Printed, not asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeAgent } from '../src/agent/node.js';
import { loadConfig } from '../src/config/load.js';
import { createGateway } from '../src/gateway/compose.js';
import { probeSandbox, runSandboxed } from '../src/runtime/sandbox/index.js';
import { systemClock } from '../src/util/clock.js';

const RUNS = 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const nowMs = () => performance.timeOrigin + performance.now();
const STAMP = ['/bin/sh', '-c', 'date +%s%N'];

export async function runBookToRunBench(): Promise<{
  book_to_first_instruction_ms: number;
  sandbox_to_first_instruction_ms: number;
  ratio: number;
}> {
  const support = await probeSandbox();
  if (!support.bwrap || support.cgroup === null) throw new Error(`no sandbox here: ${support.detail}`);
  const data = mkdtempSync(join(tmpdir(), 'computemd-bench-b2r-'));
  const node = mkdtempSync(join(tmpdir(), 'computemd-bench-b2r-node-'));
  const config = loadConfig(
    { data_dir: data },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  const gw = await createGateway(config, { clock: systemClock, background: false });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = gw.app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        'idempotency-key': `b${Math.random()}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await r.json()) as Record<string, unknown>;
  };
  const agent = await startNodeAgent({
    gateway: base,
    token: admin,
    name: 'bench-local',
    dataDir: node,
    pricePerHour: 0,
    heartbeatS: 5,
    capabilities: {
      measured_at: new Date().toISOString(),
      method: 'benchmark',
      cpu: { cores: 2, model: null, gflops_per_core: 1, memory_bandwidth_gbs: 1 },
      memory_gb: 4,
      gpus: [],
      notes: [],
    },
    announce: false,
    log: () => {},
  });
  try {
    await call('POST', '/accounts/pr_operator/credit', { amount_usd: 10 });
    const viaBook: number[] = [];
    const viaSandbox: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // The baseline: the sandbox alone.
      let out = '';
      const t1 = nowMs();
      const res = await runSandboxed(
        {
          command: STAMP,
          env: { PATH: '/usr/bin:/bin' },
          workDir: node,
          network: false,
          limits: { memoryBytes: 256 << 20, cpus: 1, pids: 64, timeoutMs: 30_000 },
        },
        { support, onStdout: (b) => (out += b.toString()) },
      );
      await res.result;
      viaSandbox.push(Number(BigInt(out.trim()) / 1000n) / 1000 - t1);

      await gw.ledger.service.settleDue(); // frees the node the last run held
      let offer: string | undefined;
      for (let k = 0; k < 100 && !offer; k++) {
        const nodes = (await call('GET', '/nodes?provider=bench-local&min_available=1')) as {
          offers?: { id: string }[];
        };
        offer = nodes.offers?.[0]?.id;
        if (!offer) await new Promise((r) => setTimeout(r, 50));
      }
      if (!offer) throw new Error('the bench node lists no free offer');
      const t0 = nowMs();
      const b = (await call('POST', '/book', {
        allocations: [{ offer_id: offer, nodes: 1, hours: 0.01 }],
        run: { command: STAMP, checkpoint: { interval_s: 60 } },
      })) as { allocations: { lease_id: string }[] };
      const lease = b.allocations[0]?.lease_id as string;
      let line: string | null = null;
      for (let k = 0; k < 400 && line === null; k++) {
        const r = await fetch(`${base}/leases/${lease}/logs`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        line = /"line":"(\d+)"/.exec(await r.text())?.[1] ?? null;
        if (line === null) await new Promise((r) => setTimeout(r, 25));
      }
      if (line === null) throw new Error(`lease ${lease} printed nothing`);
      viaBook.push(Number(BigInt(line) / 1000n) / 1000 - t0);
    }
    const book = median(viaBook);
    const box = median(viaSandbox);
    return {
      book_to_first_instruction_ms: Math.round(book * 10) / 10,
      sandbox_to_first_instruction_ms: Math.round(box * 10) / 10,
      ratio: Math.round((book / box) * 100) / 100,
    };
  } finally {
    agent.stop();
    await gw.close();
    rmSync(data, { recursive: true, force: true });
    rmSync(node, { recursive: true, force: true });
  }
}
