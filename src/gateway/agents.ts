import type { Capabilities } from '../agent/benchmark.js';
import type { CapabilityCatalog } from '../capabilities/types.js';
import { type DidResolver, JwsError, verifyJws } from '../identity/jws.js';
import type { Refresher } from '../market/refresher.js';
import type { ProviderType } from '../protocol/glossary.js';
import { type Problem, problem } from '../protocol/problem.js';
import { localOffers } from '../providers/local/offers.js';
import type { Provider } from '../providers/provider.js';
import type { Clock } from '../util/clock.js';

/**
 * Node agents as providers (issue 6, part 2). An agent registers with a JWS signed by its own DID
 * (`typ: computemd-agent+jws`), sent by a principal allowed `compute/provide`. Each agent is a
 * provider of its own, named as it asks. Its offers are built from the capabilities it
 * measured (agent/benchmark.ts) and say `verification: "benchmark_based"`. It heartbeats; an agent
 * silent for longer than the timeout lists nothing until it is heard again, and a draining agent
 * lists nothing new (running work finishes).
 *
 * - A name belongs to the first (principal, DID) that registers it; another key or another
 *   principal asking for it is 409. A name that is already a built-in provider (aws, vast, local,
 *   …) is 409 too.
 * - Registrations are kept in memory. After a gateway restart an agent's heartbeat is answered
 *   404, and the agent registers again (the CLI does this by itself).
 */

export const REGISTRATION_TYP = 'computemd-agent+jws';
const NAME = /^[a-z0-9][a-z0-9-]{1,62}$/;
const SKEW_S = 300;

export interface AgentRegistration {
  v: 1;
  name: string;
  did: string;
  capabilities: Capabilities;
  /** USD per node-hour the agent's operator asks. */
  price_per_hour: number;
  region?: string;
  /** Epoch seconds. */
  iat: number;
}

export interface AgentRecord {
  name: string;
  did: string;
  principal: string;
  registered_at: number;
  last_heartbeat: number;
  capabilities: Capabilities;
  price_per_hour: number;
  region: string;
  draining: boolean;
  /** Result validations it lost (its results disagreed with the referee's). */
  disputes_lost?: number;
}

export type AgentOutcome =
  | { ok: true; status: 200 | 201; agent: AgentRecord }
  | { ok: false; problem: Problem };

export interface AgentRegistry {
  register(principal: string, jws: string): Promise<AgentOutcome>;
  heartbeat(principal: string, name: string, body: unknown): Promise<AgentOutcome>;
  /** Every agent (operator), or one principal's. */
  list(principal: string | null): AgentRecord[];
  /** Up when heard within the timeout. */
  isUp(a: AgentRecord): boolean;
  /** A result validation found the agent's results wrong: its offers' reliability drops. */
  penalize(name: string): void;
}

/** A node agent's offered reliability: 0.99, times 0.8 for each result validation it lost. */
export function reliabilityOf(a: Pick<AgentRecord, 'disputes_lost'>): number {
  return Math.round(0.99 * 0.8 ** (a.disputes_lost ?? 0) * 1000) / 1000;
}

export interface AgentRegistryDeps {
  /** The gateway's providers: an agent that joins is appended (discovery reads this list live). */
  providers: Provider[];
  providerTypes: Map<string, ProviderType>;
  refresher: Refresher;
  capabilities: CapabilityCatalog;
  clock: Clock;
  resolveDid: DidResolver;
  /** Silence after which an agent lists nothing (ms; default 30 s). */
  heartbeatTimeoutMs?: number;
}

const bad = (param: string, detail: string) => problem('invalid-body', `${param}: ${detail}`, { param });
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const posNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Field checks of a registration's payload; the first problem, or null. */
function checkRegistration(p: unknown, nowS: number): Problem | null {
  if (!isObj(p)) return bad('/registration', 'the payload must be a JSON object');
  if (p.v !== 1) return bad('/registration/v', 'must be 1');
  if (typeof p.name !== 'string' || !NAME.test(p.name))
    return bad(
      '/registration/name',
      'must be 2–63 lower-case letters, digits and -, starting with a letter or digit',
    );
  if (
    typeof p.price_per_hour !== 'number' ||
    !Number.isFinite(p.price_per_hour) ||
    p.price_per_hour < 0 ||
    p.price_per_hour > 10_000
  )
    return bad('/registration/price_per_hour', 'must be a number of USD from 0 to 10000');
  if (p.region !== undefined && (typeof p.region !== 'string' || !/^[a-z0-9-]{1,64}$/.test(p.region)))
    return bad('/registration/region', 'must be a region name such as us-east-1, or local');
  if (typeof p.iat !== 'number' || Math.abs(p.iat - nowS) > SKEW_S)
    return bad(
      '/registration/iat',
      `must be the signing time in epoch seconds, within ${SKEW_S} s of the gateway's clock`,
    );
  const c = p.capabilities;
  if (!isObj(c) || c.method !== 'benchmark' || !isObj(c.cpu) || !Array.isArray(c.gpus))
    return bad(
      '/registration/capabilities',
      'must be the measured capability vector {method: "benchmark", cpu, memory_gb, gpus}',
    );
  const cpu = c.cpu;
  if (!Number.isInteger(cpu.cores) || (cpu.cores as number) < 1 || (cpu.cores as number) > 4096)
    return bad('/registration/capabilities/cpu/cores', 'must be a whole number from 1 to 4096');
  if (!posNum(cpu.gflops_per_core) || !posNum(cpu.memory_bandwidth_gbs))
    return bad(
      '/registration/capabilities/cpu',
      'gflops_per_core and memory_bandwidth_gbs must be measured figures > 0',
    );
  if (!posNum(c.memory_gb)) return bad('/registration/capabilities/memory_gb', 'must be > 0');
  for (const [i, g] of (c.gpus as unknown[]).entries())
    if (!isObj(g) || typeof g.name !== 'string' || g.name === '' || typeof g.measured !== 'boolean')
      return bad(
        `/registration/capabilities/gpus/${i}`,
        'must be {name, memory_gb, measured, fp16_tflops, memory_bandwidth_gbs}',
      );
  return null;
}

export function createAgentRegistry(d: AgentRegistryDeps): AgentRegistry {
  const timeout = d.heartbeatTimeoutMs ?? 30_000;
  const agents = new Map<string, AgentRecord>();
  const isUp = (a: AgentRecord) => d.clock.now() - a.last_heartbeat <= timeout;

  const providerFor = (name: string): Provider => ({
    info: {
      name,
      type: 'edge',
      description:
        'A node agent: a host that joined this gateway, with capabilities it measured by benchmark.',
      payment: [],
      verification: 'benchmark_based',
      simulated: false,
      get source() {
        const a = agents.get(name);
        return a ? `node agent ${a.did}` : 'node agent';
      },
      get extra() {
        const a = agents.get(name);
        if (!a) return {};
        const g = a.capabilities.gpus.find((x) => x.measured);
        return {
          cpu_gflops_per_core: a.capabilities.cpu.gflops_per_core,
          memory_bandwidth_gbs: a.capabilities.cpu.memory_bandwidth_gbs,
          ...(g?.fp16_tflops != null ? { gpu_fp16_tflops: g.fp16_tflops } : {}),
          measured_at: a.capabilities.measured_at,
          up: isUp(a),
          draining: a.draining,
        };
      },
    },
    features: {
      interruptible: false,
      multi_node: false,
      stop_resume: false,
      attestation: false,
      run_kinds: ['command', 'wasm'],
      unsupported: {
        interruptible: "a node agent is its operator's own host: nobody reclaims it",
        multi_node: 'one agent is one host; more hosts join as more agents',
        attestation: 'no TEE evidence here',
      },
    },
    // Re-listed often enough that a silent agent's offers go within about 1.5 timeouts.
    refresh_interval_s: Math.max(1, Math.min(10, Math.floor(timeout / 2000))),
    async listOffers() {
      const a = agents.get(name);
      if (!a || a.draining || !isUp(a)) return [];
      const caps = a.capabilities;
      return localOffers(
        {
          vcpus: caps.cpu.cores,
          memory_bytes: caps.memory_gb * 1024 ** 3,
          cpu_model: caps.cpu.model,
          platform: 'linux',
          arch: 'unknown',
        },
        {
          gpus: caps.gpus.map((g) => ({
            name: g.name,
            memory_mib: g.memory_gb === null ? null : g.memory_gb * 1024,
          })),
        },
        {
          observedAt: d.clock.now(),
          capabilities: d.capabilities,
          pricePerHour: a.price_per_hour,
          region: a.region,
          provider: name,
          verification: 'benchmark_based',
        },
      ).map((o) => ({ ...o, reliability: reliabilityOf(a) }));
    },
    leases: null,
  });

  return {
    isUp,
    penalize(name) {
      const a = agents.get(name);
      if (!a) return;
      a.disputes_lost = (a.disputes_lost ?? 0) + 1;
      void d.refresher.refreshOne(name).catch(() => {});
    },
    async register(principal, jws) {
      if (typeof jws !== 'string' || jws.length === 0 || jws.length > 65_536)
        return { ok: false, problem: bad('/registration', 'must be the compact JWS the node agent signed') };
      let v: Awaited<ReturnType<typeof verifyJws>>;
      try {
        v = await verifyJws(jws, d.resolveDid, { typ: REGISTRATION_TYP });
      } catch (err) {
        if (!(err instanceof JwsError)) throw err;
        return {
          ok: false,
          problem: problem(
            'invalid-signature',
            `The registration's signature does not verify: ${err.message}.`,
            {
              param: '/registration',
              reason: err.code,
            },
          ),
        };
      }
      const now = d.clock.now();
      const refused = checkRegistration(v.payload, Math.floor(now / 1000));
      if (refused) return { ok: false, problem: refused };
      const reg = v.payload as AgentRegistration;
      if (reg.did !== v.did)
        return {
          ok: false,
          problem: bad('/registration/did', `is ${reg.did} but the registration is signed by ${v.did}`),
        };
      const prior = agents.get(reg.name);
      if (prior && (prior.did !== reg.did || prior.principal !== principal))
        return {
          ok: false,
          problem: problem(
            'conflict',
            `Node name ${reg.name} belongs to another agent (${prior.did}). Choose another --name.`,
            {
              param: '/registration/name',
            },
          ),
        };
      if (!prior && d.providers.some((p) => p.info.name === reg.name))
        return {
          ok: false,
          problem: problem(
            'conflict',
            `${reg.name} is the name of a built-in provider. Choose another --name.`,
            {
              param: '/registration/name',
            },
          ),
        };
      const agent: AgentRecord = {
        name: reg.name,
        did: reg.did,
        principal,
        registered_at: prior?.registered_at ?? now,
        last_heartbeat: now,
        capabilities: reg.capabilities,
        price_per_hour: reg.price_per_hour,
        region: reg.region ?? 'local',
        draining: false,
      };
      agents.set(reg.name, agent);
      if (!prior) {
        const p = providerFor(reg.name);
        d.providers.push(p);
        d.providerTypes.set(reg.name, p.info.type);
        d.refresher.add(p);
      }
      await d.refresher.refreshOne(reg.name);
      return { ok: true, status: prior ? 200 : 201, agent };
    },

    async heartbeat(principal, name, body) {
      const a = agents.get(name);
      if (!a || a.principal !== principal)
        return {
          ok: false,
          problem: problem(
            'not-found',
            `No node agent ${name} for this principal: register it (POST /agents) first.`,
            {
              param: 'name',
            },
          ),
        };
      const b = body ?? {};
      if (!isObj(b) || Object.keys(b).some((k) => k !== 'draining'))
        return { ok: false, problem: bad('(body)', 'must be {} or {draining: true|false}') };
      if (b.draining !== undefined && typeof b.draining !== 'boolean')
        return { ok: false, problem: bad('/draining', 'must be true or false') };
      const wasListed = !a.draining && isUp(a);
      a.last_heartbeat = d.clock.now();
      if (typeof b.draining === 'boolean') a.draining = b.draining;
      // Offers come back (or go) at once rather than on the next refresh tick.
      if (wasListed !== (!a.draining && isUp(a))) await d.refresher.refreshOne(name);
      return { ok: true, status: 200, agent: a };
    },

    list(principal) {
      return [...agents.values()].filter((a) => principal === null || a.principal === principal);
    },
  };
}

/** The wire form of an agent. */
export function agentToWire(a: AgentRecord, up: boolean) {
  return {
    name: a.name,
    did: a.did,
    principal: a.principal,
    status: a.draining ? 'draining' : up ? 'up' : 'down',
    registered_at: new Date(a.registered_at).toISOString(),
    last_heartbeat: new Date(a.last_heartbeat).toISOString(),
    price_per_hour: a.price_per_hour,
    region: a.region,
    capabilities: a.capabilities,
  };
}
