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
 * - **Not yet.** Running leases, checkpoints and receipts come with the runtime (issue 6, parts
 *   3–6).
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
  const client = new ComputeMdClient({ baseUrl: o.gateway, token: o.token });
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
  // Leases assigned to this node: each runs once, in the sandbox, beside the heartbeats.
  const started = new Set<string>();
  const work = async () => {
    if (draining) return;
    try {
      const r = await client.get<{ leases: AssignedLease[] }>(`/agents/${encodeURIComponent(o.name)}/leases`);
      for (const w of r.leases) {
        if (started.has(w.lease_id)) continue;
        started.add(w.lease_id);
        o.log(`computemd node: running lease ${w.lease_id}`);
        runLease(w, {
          client,
          node: me,
          dataDir: o.dataDir,
          isolation: o.isolation ?? 'sandbox',
          log: o.log,
        }).catch((err) => o.log(`computemd node: lease ${w.lease_id} failed: ${(err as Error).message}`));
      }
    } catch (err) {
      o.log(`computemd node: could not fetch work: ${(err as Error).message}`);
    }
  };
  const loop = () => {
    timer = setTimeout(
      async () => {
        await beat();
        await work();
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
      // The mDNS goodbye, so browsers on the LAN drop it at once.
      (mdns ? mdns.stop() : Promise.resolve()).finally(stopped);
    },
    done,
  };
}
