import type { FastifyInstance } from 'fastify';
import { PriceHistoryQuery } from '../../protocol/schemas/queries.js';
import { PriceHistoryResponse, SpotPricesResponse } from '../../protocol/schemas/responses.js';
import type { GatewayDeps } from '../deps.js';
import { badParams } from './discovery.js';

/** A comment line every interval keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

/** GET /prices/spot, /prices/history, /prices/stream. */
export function pricesRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const d = deps.discovery;
  app.get(
    '/prices/spot',
    {
      schema: {
        summary: 'Lowest price now per provider type and class',
        description:
          "Keyed as the spec's loop reads it: prices['p2p_market']['GPU_A'], prices['traditional']['GPU_B'] — one key per provider type (p2p_market for p2p_marketplace, traditional for traditional_cloud, the type name for the others), each holding GPU_A, GPU_B and GPU_C (null where none): the lowest USD per GPU-hour of an available offer, interruptible or not. `detail` has min/median/p10, the on-demand and interruptible minimums and the provider of the minimum.",
        tags: ['prices'],
        response: { 200: SpotPricesResponse },
      },
    },
    async () => {
      const s = d.spotPrices();
      return { ...s, simulated: true };
    },
  );

  app.get(
    '/prices/history',
    {
      schema: {
        summary: 'Price history by provider type and class',
        tags: ['prices'],
        querystring: PriceHistoryQuery,
        response: { 200: PriceHistoryResponse },
      },
    },
    async (req, reply) => {
      const r = d.priceHistory(req.query as Record<string, unknown>);
      if (!r.ok) return badParams(reply, r.problems);
      return r.value;
    },
  );

  app.get(
    '/prices/stream',
    {
      config: { encodings: false },
      schema: {
        summary: 'Price ticks as Server-Sent Events',
        description:
          'text/event-stream. First a `spot` event with the current /prices/spot body, then one `tick` event per price change ({t, provider, provider_type, resource_type, offer_id, price_per_gpu_hour, previous}), and a comment heartbeat every 15 s.',
        tags: ['prices'],
      },
    },
    (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // A connection-specific header: HTTP/2 forbids it (its streams are already long-lived).
        ...(req.raw.httpVersionMajor < 2 ? { connection: 'keep-alive' } : {}),
        'x-accel-buffering': 'no',
      });
      let seq = 0;
      const send = (event: string, data: unknown) => {
        res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      send('spot', { ...d.spotPrices(), simulated: true });
      const off = d.onTick((tick) => send('tick', tick));
      const hb = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
      hb.unref();
      const close = () => {
        clearInterval(hb);
        off();
      };
      req.raw.on('close', close);
      res.on('error', close);
    },
  );
}
