import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REGISTRATION_TYP } from '../gateway/agents.js';
import { createKeyFile, loadKeyFile } from '../identity/gateway-key.js';
import { signJws } from '../identity/jws.js';
import type { IsolationMode } from '../runtime/sandbox/index.js';
import { ComputeMdClient, ComputeMdError } from '../sdk/client.js';
import { type Capabilities, measureCapabilities } from './benchmark.js';
import { announce } from './dnssd.js';
import { type AssignedLease, runLease } from './runner.js';

/**
 * `computemd node`: this host joins a gateway as a provider of its own (issue 6, part 2).
 *
 * - **Identity.** The agent's key is `node.key` in its data dir (0600, created on first start),
 *   and its DID is that key's did:key.
 * - **Registration.** It measures its capabilities (benchmark.ts) and registers: a JWS its DID
 *   signs, sent with the token it was given, which must allow `compute/provide`.
 * - **Heartbeats.** It then heartbeats every `heartbeatS`. When the gateway no longer knows it (a
 *   restart: 404) it registers again.
 * - **Announcing.** It announces itself on the LAN by DNS-SD (`_computemd._tcp`, with its DID and
 *   gateway in TXT records; agent/dnssd.ts) unless told not to.
 * - **Draining.** `drain()` asks for no new work, and running work finishes.
 * - **Work.** A long poll of `GET /agents/:name/leases` brings the leases to run (runner.ts) and
 *   those to stop; each runs in the sandbox with its checkpoints, logs, outputs and receipt.
 */

export interface NodeAgentOptions {
  gateway: string;
  token: string;
  name: string;
  dataDir: string;
  pricePerHour: number;
  region?: string;
  heartbeatS?: number;
  log: (line: string) => void;
  /** Measured once at start; injectable so tests need not wait for the probes. */
  capabilities?: Capabilities;
  /** Announce on the LAN by DNS-SD (`_computemd._tcp`); default true. */
  announce?: boolean;
  /** How leases run: in the sandbox (default), or rlimits only when the operator opted in. */
  isolation?: IsolationMode;
  /** Seconds the gateway may hold a poll for work open (default 25, at most 30). */
  pollWaitS?: number;
  /** How to reach the gateway (default the global fetch); the in-process agent pins the TLS cert. */
  fetch?: typeof fetch;
  /** Where the gateway reaches servers this node runs (default 127.0.0.1). */
  advertiseHost?: string;
}

export interface NodeAgent {
  did: string;
  capabilities: Capabilities;
  drain(on?: boolean): Promise<void>;
  stop(): void;
  /** Resolves when stopped. */
  done: Promise<void>;
}

export async function startNodeAgent(o: NodeAgentOptions): Promise<NodeAgent> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const keyPath = join(o.dataDir, 'node.key');
  const me = existsSync(keyPath) ? loadKeyFile(keyPath) : createKeyFile(keyPath, 'Ed25519');
  const capabilities = o.capabilities ?? (await measureCapabilities());
  const client = new ComputeMdClient({
    baseUrl: o.gateway,
    token: o.token,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const register = async () => {
    const registration = signJws(
      {
        v: 1,
        name: o.name,
        did: me.did,
        capabilities,
        price_per_hour: o.pricePerHour,
        ...(o.region ? { region: o.region } : {}),
        iat: Math.floor(Date.now() / 1000),
      },
      me,
      { typ: REGISTRATION_TYP },
    );
    await client.request('POST', '/agents', undefined, { registration });
  };
  await register();
  const mdns =
    o.announce === false
      ? null
      : announce({ name: o.name, did: me.did, gateway: o.gateway, port: 0 }, { log: o.log });
  o.log(
    `computemd node: ${o.name} registered as ${me.did} with ${o.gateway} (${capabilities.cpu.cores} cores, ${capabilities.cpu.gflops_per_core} GFLOPS/core, ${capabilities.gpus.length} GPU(s))`,
  );

  let draining = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped: () => void = () => {};
  const done = new Promise<void>((r) => {
    stopped = r;
  });
  const beat = async (body: Record<string, unknown> = {}) => {
    try {
      await client.request('POST', `/agents/${encodeURIComponent(o.name)}/heartbeat`, undefined, body);
    } catch (err) {
      if (err instanceof ComputeMdError && err.status === 404) {
        await register();
        if (draining) await beat({ draining: true });
        o.log(`computemd node: ${o.name} registered again (the gateway had forgotten it)`);
      } else o.log(`computemd node: heartbeat failed: ${(err as Error).message}`);
    }
  };
  // Leases assigned to this node: each runs once, in the sandbox, beside the heartbeats. The
  // agent holds a long poll open, so a booked lease reaches it within milliseconds; the same
  // answer names leases the gateway ended (cancelled, failed over), which are stopped.
  const running = new Map<string, AbortController>();
  const started = new Set<string>();
  let polling = true;
  const pollAbort = new AbortController();
  const work = async () => {
    const res = await client.send(
      'GET',
      `/agents/${encodeURIComponent(o.name)}/leases`,
      { wait: draining ? 0 : (o.pollWaitS ?? 25) },
      { retrySafe: true, signal: pollAbort.signal },
    );
    const r = (await res.json()) as { leases: AssignedLease[]; stop?: string[] };
    for (const id of r.stop ?? []) running.get(id)?.abort();
    for (const w of r.leases) {
      if (started.has(w.lease_id)) continue;
      started.add(w.lease_id);
      const ac = new AbortController();
      running.set(w.lease_id, ac);
      o.log(`computemd node: running lease ${w.lease_id}`);
      runLease(w, {
        client,
        node: me,
        dataDir: o.dataDir,
        isolation: o.isolation ?? 'sandbox',
        log: o.log,
        signal: ac.signal,
        ...(o.advertiseHost ? { advertiseHost: o.advertiseHost } : {}),
      })
        .catch((err) => o.log(`computemd node: lease ${w.lease_id} failed: ${(err as Error).message}`))
        .finally(() => running.delete(w.lease_id));
    }
  };
  const pollLoop = async () => {
    while (polling) {
      try {
        await work();
        if (draining) await new Promise((r) => setTimeout(r, 1000));
      } catch (err) {
        if (!polling) return;
        o.log(`computemd node: could not fetch work: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  void pollLoop();
  const loop = () => {
    timer = setTimeout(
      async () => {
        await beat();
        if (timer) loop();
      },
      (o.heartbeatS ?? 10) * 1000,
    );
  };
  loop();
  return {
    did: me.did,
    capabilities,
    async drain(on = true) {
      draining = on;
      await beat({ draining: on });
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      polling = false;
      pollAbort.abort();
      for (const ac of running.values()) ac.abort();
      // The mDNS goodbye, so browsers on the LAN drop it at once.
      (mdns ? mdns.stop() : Promise.resolve()).finally(stopped);
    },
    done,
  };
}
