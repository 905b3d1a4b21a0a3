import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { money, table } from '../cli/table.js';
import type { ComputeMdClient, Query } from '../sdk/client.js';
import { answer, guarded, refuse } from './result.js';
import {
  capabilitiesInput,
  DISCOVER_ONLY,
  emptyInput,
  findComputeInput,
  planWorkloadInput,
} from './schemas.js';
import { planText } from './text.js';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** find_compute, get_capabilities, get_spot_prices, plan_workload: everything that spends nothing. */
export function registerMarketTools(server: McpServer, client: ComputeMdClient): void {
  server.registerTool(
    'find_compute',
    {
      title: 'Find compute',
      description:
        'Offers across every provider, filtered as GET /nodes filters them (resource_type GPU_A|GPU_B|GPU_C|CPU or a GPU model, max_price in USD per GPU-hour, min_memory_gb per GPU, latency_band, region, provider_type, interruptible…). Give gpu_hours (reference GPU-hours of work) to get /discover instead: what that much work costs on each offer, cheapest first. Default limit 10.',
      inputSchema: findComputeInput,
      annotations: READ,
    },
    (args) =>
      guarded(async () => {
        const q: Query = { limit: 10, ...(args as Query) };
        if (DISCOVER_ONLY.some((k) => q[k] !== undefined)) {
          const r = await client.discover(q);
          const rows = r.options.map((o) => [
            o.offer.id,
            o.offer.provider,
            o.offer.gpu_model ?? o.offer.resource_type,
            money(o.offer.price_per_gpu_hour ?? o.offer.price_per_hour, 3),
            o.gpu_hours_on_hardware.toFixed(1),
            money(o.total_cost_usd),
            o.can_deliver ? 'yes' : 'no',
          ]);
          const head = `${r.count} options for ${r.gpu_hours} reference GPU-hours on ${r.reference_profile} (${r.workload_kind}), cheapest first${r.simulated ? '; availability is simulated' : ''}:`;
          return answer(
            `${head}\n${table(['OFFER', 'PROVIDER', 'GPU', '$/GPU-H', 'GPU-H', 'TOTAL', 'CAN DELIVER'], rows)}`,
            r,
          );
        }
        const r = await client.nodes(q);
        const rows = r.offers.map((o) => [
          o.id,
          o.provider,
          o.provider_type,
          o.gpu_model ?? `${o.vcpus} vCPU`,
          o.gpu_count,
          money(o.price_per_gpu_hour ?? o.price_per_hour, 3),
          o.region,
          o.latency_band,
          o.available,
          o.interruptible ? 'yes' : 'no',
        ]);
        const more = r.next_cursor ? ` (more with cursor "${r.next_cursor}")` : '';
        return answer(
          `${r.count} offers${more}${r.simulated ? '; availability and spot movement are simulated' : ''}:\n${table(
            ['OFFER', 'PROVIDER', 'TYPE', 'GPU', 'N', '$/GPU-H', 'REGION', 'BAND', 'AVAIL', 'SPOT'],
            rows,
          )}`,
          r,
        );
      }),
  );

  server.registerTool(
    'get_capabilities',
    {
      title: 'Capability profiles',
      description:
        'Normalised performance of each resource profile (fp16/fp32 TFLOPS, int8 TOPS, memory, bandwidth, interconnect, typical price), the latency bands, the classes GPU_A/B/C and the aliases every query accepts.',
      inputSchema: capabilitiesInput,
      annotations: READ,
    },
    ({ profile }) =>
      guarded(async () => {
        const caps = await client.capabilities();
        if (profile === undefined)
          return answer(
            `Profiles: ${Object.keys(caps.resource_profiles).join(', ')}\nLatency bands: ${Object.entries(
              caps.latency_bands,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}\nClasses: ${Object.entries(caps.classes)
              .map(([k, v]) => `${k} = ${v.join('/')}`)
              .join('; ')}`,
            caps,
          );
        const key = caps.aliases[profile] ?? profile;
        const p = caps.resource_profiles[key];
        if (!p)
          return refuse(
            `No profile ${profile}. Known: ${Object.keys(caps.resource_profiles).join(', ')} (and their aliases).`,
          );
        return answer(`${key}: ${JSON.stringify(p)}`, { profile: key, ...p });
      }),
  );

  server.registerTool(
    'get_spot_prices',
    {
      title: 'Spot prices by market',
      description:
        'The lowest current USD per GPU-hour for each class (GPU_A, GPU_B, GPU_C) in each market type: traditional clouds, P2P marketplaces, decentralised clouds and compute networks, serverless, edge.',
      inputSchema: emptyInput,
      annotations: READ,
    },
    () =>
      guarded(async () => {
        const s = await client.spotPrices();
        const markets = [
          'traditional',
          'p2p_market',
          'decentralized_cloud',
          'decentralized_compute',
          'serverless_compute',
          'edge',
        ] as const;
        const rows = markets.map((m) => [
          m,
          money(s[m].GPU_A, 3),
          money(s[m].GPU_B, 3),
          money(s[m].GPU_C, 3),
        ]);
        return answer(
          `Spot ${s.unit} as of ${s.as_of}${s.simulated ? ' (simulated movement on real list prices)' : ''}:\n${table(['MARKET', 'GPU_A', 'GPU_B', 'GPU_C'], rows)}`,
          s,
        );
      }),
  );

  server.registerTool(
    'plan_workload',
    {
      title: 'Plan a workload (a quote)',
      description:
        'POST /orchestrate: the cost-optimal allocation across providers for {workload, constraints}. workload: {type: batch_processing|training|inference|large_model_serve|cpu, compute_hours (reference GPU-hours; vCPU-hours for cpu), memory_gb (per GPU), …}; constraints: {max_price_per_hour, latency_band, redundancy, deadline_hours, budget_usd, providers, …}. A quote: it spends nothing. Book it with book_plan before expires_at.',
      inputSchema: planWorkloadInput,
      annotations: { ...READ, idempotentHint: false },
    },
    (args) =>
      guarded(async () => {
        const plan = await client.orchestrate(args as Record<string, unknown>);
        return answer(planText(plan), plan);
      }),
  );
}
