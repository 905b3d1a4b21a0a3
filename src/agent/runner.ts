import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { DidSigner } from '../identity/jws.js';
import { type Checkpoint, checkpointDigest, signCheckpoint, signReceipt } from '../runtime/proof.js';
import type { RunSpec } from '../runtime/run-spec.js';
import {
  type IsolationMode,
  type RunningSandbox,
  runSandboxed,
  runWasm,
  type SandboxUsage,
} from '../runtime/sandbox/index.js';
import { type ComputeMdClient, ComputeMdError } from '../sdk/client.js';
import { createLogShipper } from './logs.js';

/**
 * A node agent running one lease (issue 6): the work dir, the inputs (each checked against its
 * SHA-256 before anything runs) and, for a lease that resumes a failed one, the files its
 * predecessor left; the command (or WASM module) in the sandbox with its output shipped to the
 * gateway as it comes; a checkpoint at the start, every `checkpoint.interval_s` and at the end,
 * each signed by the node and sent as it is made (with the outputs uploaded beside it when the run
 * is resumable, so another node can take over from there); then the outputs and the signed receipt.
 * A lease the gateway ends (cancelled, failed over) is stopped through `signal`, and sends no receipt.
 */

export interface AssignedLease {
  lease_id: string;
  booking_id: string;
  hours: number;
  run: RunSpec;
  manifest: string | null;
  /** Set when this lease resumes one that failed: the files its last checkpoint left. */
  resume?: {
    from_lease: string;
    checkpoint_seq: number | null;
    files: { path: string; sha256: string; content_base64: string }[];
  };
}

export interface RunnerDeps {
  client: ComputeMdClient;
  node: DidSigner;
  dataDir: string;
  isolation: IsolationMode;
  log: (line: string) => void;
  /** Aborted when the gateway says stop. */
  signal?: AbortSignal;
  /** The host name or address the gateway reaches this node's servers at (default 127.0.0.1). */
  advertiseHost?: string;
}

/** A TCP port free on this host now (the kernel's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export async function runLease(w: AssignedLease, d: RunnerDeps): Promise<void> {
  const dir = join(d.dataDir, 'leases', w.lease_id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (suffix: string) => `/leases/${encodeURIComponent(w.lease_id)}/${suffix}`;
  const chain: string[] = [];
  const first = Math.floor(Date.now() / 1000);
  let startAt = first;
  const outputs = () =>
    w.run.outputs
      .filter((p) => existsSync(join(dir, p)) && statSync(join(dir, p)).isFile())
      .map((p) => {
        const bytes = readFileSync(join(dir, p));
        return { name: p, bytes };
      });
  const upload = async (tries = 1) => {
    const list = outputs();
    for (const o of list)
      await persist(
        `output ${o.name}`,
        () =>
          d.client
            .send('PUT', path(`outputs/${encodeURIComponent(o.name)}`), undefined, {
              headers: { 'content-type': 'application/octet-stream' },
              body: o.bytes,
              retrySafe: true,
            })
            .then(
              () => true,
              (err) =>
                err instanceof ComputeMdError && err.status >= 400 && err.status < 500 && err.status !== 404,
            ),
        tries,
      );
    return list.map((o) => ({ name: o.name, sha256: sha256(o.bytes), bytes: o.bytes.length }));
  };
  const send = async (usage: SandboxUsage) => {
    const prev = chain.at(-1) ?? null;
    const at = Math.max(first, Math.floor(Date.now() / 1000));
    const outs = w.run.checkpoint.resumable && chain.length > 0 ? await upload() : [];
    const c: Checkpoint = {
      v: 1,
      lease_id: w.lease_id,
      seq: chain.length,
      at,
      cpu_seconds: Math.round(usage.cpuSeconds * 1000) / 1000,
      peak_memory_bytes: usage.peakMemoryBytes,
      outputs_digest: outs.length ? sha256(JSON.stringify(outs.map((o) => [o.name, o.sha256]))) : null,
      prev: prev ? checkpointDigest(prev) : null,
      node: d.node.did,
    };
    const jws = signCheckpoint(c, d.node);
    if (c.seq === 0) startAt = at;
    chain.push(jws);
    unsent.push(jws);
    await flush();
    return c;
  };
  // Checkpoints go in chain order. One the gateway could not take (it restarted, the network
  // dropped) waits and goes first next time; one it already has (409: a lost reply) is dropped.
  const unsent: string[] = [];
  // One flush at a time: two at once would both post the head and both drop it.
  let flushing: Promise<boolean> = Promise.resolve(true);
  const flush = (): Promise<boolean> => {
    flushing = flushing.then(flushNow, flushNow);
    return flushing;
  };
  const flushNow = async (): Promise<boolean> => {
    while (unsent.length > 0) {
      try {
        await d.client.request('POST', path('checkpoints'), undefined, { checkpoint: unsent[0] });
      } catch (err) {
        // The gateway already has it (a lost reply): it expects a later seq. Anything else waits.
        const expected = err instanceof ComputeMdError ? Number(err.problem.expected_seq) : Number.NaN;
        const seq = chain.indexOf(unsent[0] as string);
        if (!(err instanceof ComputeMdError && err.status === 409 && expected > seq)) {
          d.log(`computemd node: checkpoint of ${w.lease_id} not sent yet: ${(err as Error).message}`);
          return false;
        }
      }
      unsent.shift();
    }
    return true;
  };
  /** Retries `f` about once a second for up to `tries` seconds (the gateway may be restarting). */
  const persist = async (what: string, f: () => Promise<boolean>, tries = 120) => {
    for (let i = 0; i < tries; i++) {
      if (await f()) return true;
      await new Promise((r) => setTimeout(r, 1000));
    }
    d.log(`computemd node: gave up sending the ${what} of ${w.lease_id}`);
    return false;
  };
  const finish = async (
    last: Checkpoint,
    exit: { code: number | null; signal: string | null; reason: string },
  ) => {
    const outs = await upload(120);
    const receipt = signReceipt(
      {
        v: 1,
        lease_id: w.lease_id,
        booking_id: w.booking_id,
        manifest_digest: w.manifest ? sha256(w.manifest) : null,
        outputs: outs,
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
    await persist('checkpoints', flush);
    await persist('receipt', async () => {
      try {
        await d.client.request('POST', path('receipt'), undefined, { receipt });
        return true;
      } catch (err) {
        // 409: the gateway has it (a lost reply). 4xx otherwise: it will never take it.
        if (err instanceof ComputeMdError && err.status >= 400 && err.status < 500 && err.status !== 404) {
          d.log(`computemd node: receipt of ${w.lease_id} refused: ${err.message}`);
          return true;
        }
        return false;
      }
    });
    d.log(
      `computemd node: lease ${w.lease_id} ${exit.reason} (exit ${exit.code ?? exit.signal}); receipt sent`,
    );
  };
  const refuse = async (reason: string) => {
    const c = await send(zero);
    return finish(c, { code: null, signal: null, reason });
  };

  const zero = { cpuSeconds: 0, peakMemoryBytes: 0 };
  // Inputs first: a digest that does not match means the work never starts.
  for (const i of w.run.inputs) {
    let bytes: Buffer;
    try {
      bytes =
        i.content !== undefined
          ? Buffer.from(i.content)
          : Buffer.from(await (await fetch(i.url as string)).arrayBuffer());
    } catch (err) {
      return refuse(`input ${i.path} could not be fetched: ${(err as Error).message}`);
    }
    if (sha256(bytes) !== i.sha256) return refuse(`input ${i.path} does not match its sha256`);
    mkdirSync(dirname(join(dir, i.path)), { recursive: true });
    writeFileSync(join(dir, i.path), bytes);
  }
  // A resumed lease starts from the files its predecessor's last checkpoint left.
  for (const f of w.resume?.files ?? []) {
    const bytes = Buffer.from(f.content_base64, 'base64');
    if (sha256(bytes) !== f.sha256) return refuse(`resume file ${f.path} does not match its sha256`);
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), bytes);
  }
  // A server gets a free port of this host in PORT; its endpoint is reported once it runs.
  const port = w.run.serve ? await freePort() : null;
  const env = {
    ...w.run.env,
    COMPUTEMD_LEASE_ID: w.lease_id,
    ...(w.resume ? { COMPUTEMD_RESUME_FROM: w.resume.from_lease } : {}),
    ...(port !== null ? { PORT: String(port) } : {}),
  };
  const r = w.run.resources;
  const timeoutMs = Math.min(w.run.timeout_s, Math.ceil(w.hours * 3600)) * 1000;
  const logs = createLogShipper(async (lines) => {
    await d.client.request('POST', path('logs'), undefined, { lines });
  }, d.log);
  const opts = {
    mode: d.isolation,
    onStdout: (b: Buffer) => logs.push('stdout', b),
    onStderr: (b: Buffer) => logs.push('stderr', b),
    ...(d.signal ? { signal: d.signal } : {}),
  };
  let running: RunningSandbox;
  try {
    if (w.run.kind === 'command')
      running = await runSandboxed(
        {
          command: w.run.command,
          env,
          workDir: dir,
          network: w.run.network,
          limits: { memoryBytes: Math.round(r.memory_gb * 1024 ** 3), cpus: r.cpus, pids: 256, timeoutMs },
        },
        opts,
      );
    else if (w.run.kind === 'wasm') {
      const m = w.run.wasm.module;
      const module =
        m.base64 !== undefined
          ? Buffer.from(m.base64, 'base64')
          : Buffer.from(await (await fetch(m.url as string)).arrayBuffer());
      if (sha256(module) !== m.sha256) return refuse('the WASM module does not match its sha256');
      running = await runWasm(
        {
          module,
          args: w.run.wasm.args,
          env,
          workDir: dir,
          limits: { memoryBytes: Math.round(r.memory_gb * 1024 ** 3), timeoutMs, cpus: r.cpus },
        },
        opts,
      );
    } else return refuse('node agents run commands and WASM modules, not container images');
  } catch (err) {
    return refuse(`the sandbox could not start: ${(err as Error).message}`);
  }
  let pending: Promise<unknown> = send(running.usage());
  if (port !== null)
    void persist('endpoint', () =>
      d.client
        .request('POST', path('endpoint'), undefined, {
          url: `http://${d.advertiseHost ?? '127.0.0.1'}:${port}`,
        })
        .then(
          () => true,
          (err) =>
            err instanceof ComputeMdError && err.status >= 400 && err.status < 500 && err.status !== 404,
        ),
    );
  const tick = setInterval(() => {
    pending = pending
      .then(() => send(running.usage()))
      .catch((err) => d.log(`checkpoint failed: ${(err as Error).message}`));
  }, w.run.checkpoint.interval_s * 1000);
  const result = await running.result;
  clearInterval(tick);
  await pending.catch(() => {});
  await logs.close();
  if (d.signal?.aborted) {
    d.log(`computemd node: lease ${w.lease_id} stopped at the gateway's word`);
    return;
  }
  const last = await send(result);
  await finish(last, { code: result.exitCode, signal: result.signal, reason: result.reason });
}
