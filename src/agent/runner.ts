import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DidSigner } from '../identity/jws.js';
import { type Checkpoint, checkpointDigest, signCheckpoint, signReceipt } from '../runtime/proof.js';
import type { RunSpec } from '../runtime/run-spec.js';
import { type IsolationMode, runSandboxed, type SandboxUsage } from '../runtime/sandbox/index.js';
import type { ComputeMdClient } from '../sdk/client.js';

/**
 * A node agent running one lease (issue 6): the work dir, the inputs (each checked against its
 * SHA-256 before anything runs), the command in the sandbox, a checkpoint at the start, every
 * `checkpoint.interval_s` and at the end, each signed by the node and sent to the gateway as it is
 * made; then the outputs' digests and the signed receipt.
 *
 * Only `command` runs here for now; a `wasm` run is refused with a failed receipt rather than
 * run outside the sandbox's WASM path (not yet wired).
 */

export interface AssignedLease {
  lease_id: string;
  booking_id: string;
  hours: number;
  run: RunSpec;
  manifest: string | null;
}

export interface RunnerDeps {
  client: ComputeMdClient;
  node: DidSigner;
  dataDir: string;
  isolation: IsolationMode;
  log: (line: string) => void;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export async function runLease(w: AssignedLease, d: RunnerDeps): Promise<void> {
  const dir = join(d.dataDir, 'leases', w.lease_id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const chain: string[] = [];
  const first = Math.floor(Date.now() / 1000);
  let startAt = first;
  const send = async (usage: SandboxUsage) => {
    const prev = chain.at(-1) ?? null;
    const at = Math.max(first, Math.floor(Date.now() / 1000));
    const c: Checkpoint = {
      v: 1,
      lease_id: w.lease_id,
      seq: chain.length,
      at,
      cpu_seconds: Math.round(usage.cpuSeconds * 1000) / 1000,
      peak_memory_bytes: usage.peakMemoryBytes,
      outputs_digest: null,
      prev: prev ? checkpointDigest(prev) : null,
      node: d.node.did,
    };
    const jws = signCheckpoint(c, d.node);
    if (c.seq === 0) startAt = at;
    chain.push(jws);
    await d.client.request('POST', `/leases/${encodeURIComponent(w.lease_id)}/checkpoints`, undefined, {
      checkpoint: jws,
    });
    return c;
  };
  const finish = async (
    last: Checkpoint,
    exit: { code: number | null; signal: string | null; reason: string },
  ) => {
    const outputs = w.run.outputs
      .filter((p) => existsSync(join(dir, p)) && statSync(join(dir, p)).isFile())
      .map((p) => {
        const bytes = readFileSync(join(dir, p));
        return { name: p, sha256: sha256(bytes), bytes: bytes.length };
      });
    const receipt = signReceipt(
      {
        v: 1,
        lease_id: w.lease_id,
        booking_id: w.booking_id,
        manifest_digest: w.manifest ? sha256(w.manifest) : null,
        outputs,
        usage: {
          cpu_seconds: last.cpu_seconds,
          wall_s: last.at - startAt,
          peak_memory_bytes: last.peak_memory_bytes,
        },
        exit_status: exit,
        checkpoint_head: checkpointDigest(chain.at(-1) as string),
        checkpoints: chain.length,
        node: d.node.did,
        completed_at: last.at,
      },
      d.node,
    );
    await d.client.request('POST', `/leases/${encodeURIComponent(w.lease_id)}/receipt`, undefined, {
      receipt,
    });
    d.log(
      `computemd node: lease ${w.lease_id} ${exit.reason} (exit ${exit.code ?? exit.signal}); receipt sent`,
    );
  };

  const zero = { cpuSeconds: 0, peakMemoryBytes: 0 };
  // Inputs first: a digest that does not match means the work never starts.
  for (const i of w.run.inputs) {
    const bytes =
      i.content !== undefined
        ? Buffer.from(i.content)
        : Buffer.from(await (await fetch(i.url as string)).arrayBuffer());
    if (sha256(bytes) !== i.sha256) {
      const c = await send(zero);
      return finish(c, { code: null, signal: null, reason: `input ${i.path} does not match its sha256` });
    }
    mkdirSync(dirname(join(dir, i.path)), { recursive: true });
    writeFileSync(join(dir, i.path), bytes);
  }
  if (w.run.kind !== 'command') {
    const c = await send(zero);
    return finish(c, {
      code: null,
      signal: null,
      reason: `${w.run.kind} runs are not wired on node agents yet`,
    });
  }
  const r = w.run.resources;
  const running = await runSandboxed(
    {
      command: w.run.command,
      env: w.run.env,
      workDir: dir,
      network: w.run.network,
      limits: {
        memoryBytes: Math.round(r.memory_gb * 1024 ** 3),
        cpus: r.cpus,
        pids: 256,
        timeoutMs: Math.min(w.run.timeout_s, Math.ceil(w.hours * 3600)) * 1000,
      },
    },
    { mode: d.isolation },
  );
  let pending: Promise<unknown> = send(running.usage());
  const tick = setInterval(() => {
    pending = pending
      .then(() => send(running.usage()))
      .catch((err) => d.log(`checkpoint failed: ${(err as Error).message}`));
  }, w.run.checkpoint.interval_s * 1000);
  const result = await running.result;
  clearInterval(tick);
  await pending.catch(() => {});
  const last = await send(result);
  await finish(last, { code: result.exitCode, signal: result.signal, reason: result.reason });
}
