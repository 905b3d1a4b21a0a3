/**
 * The proxy under the load-balancer benchmark, as its own process. By default the composed
 * gateway (`createGateway`, as `computemd serve` builds it; rate limits off as in every bench), one
 * requester principal, and a balancer `fleet` over the upstream URLs given as arguments, with the
 * default tuning and `/health` probes. With `--bare`: the same balancer behind a plain `node:http`
 * server, no Fastify, no auth, no metrics: the proxy core alone. Prints one JSON line `{url, key}`
 * once listening, then one line per endpoint event `{event, endpoint, reason, at}` (epoch ms) so
 * the runner can time ejections exactly. SIGTERM closes it.
 *
 *   node dist/bench/lb-gateway.js [--bare] <port> <upstream-url>…
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { createGateway } from '../src/gateway/compose.js';
import type { Balancer } from '../src/lb/registry.js';
import { LbRegistry } from '../src/lb/registry.js';

const args = process.argv.slice(2);
const bare = args[0] === '--bare';
const [port, ...upstreams] = bare ? args.slice(1) : args;
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const spec = (owner: string) => ({
  id: 'fleet',
  owner,
  health_check: '/health',
  endpoints: upstreams.map((url, i) => ({ id: `u${i + 1}`, url })),
});
const watch = (b: Balancer) => {
  b.onEndpointDown((e) => say({ event: 'down', endpoint: e.endpoint, reason: e.reason, at: e.at }));
  b.onEndpointUp((e) => say({ event: 'up', endpoint: e.endpoint, reason: e.reason, at: e.at }));
};

if (bare) {
  const lb = new LbRegistry();
  const b = lb.create(spec('bench'));
  watch(b);
  const prefix = '/lb/fleet'.length;
  const server = createServer((req, res) => {
    void b.handle(req, res, (req.url ?? '/').slice(prefix) || '/');
  });
  server.keepAliveTimeout = 72_000;
  server.listen(Number(port), '127.0.0.1', () => say({ url: `http://127.0.0.1:${port}`, key: 'unused' }));
  process.once('SIGTERM', async () => {
    await lb.closeAll();
    process.exit(0);
  });
} else {
  const dataDir = mkdtempSync(join(tmpdir(), 'computemd-lb-bench-'));
  const config = loadConfig(
    { data_dir: dataDir },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  const gw = await createGateway(config);
  await gw.app.listen({ port: Number(port), host: '127.0.0.1' });
  const admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const made = await gw.app.inject({
    method: 'POST',
    url: '/principals',
    headers: { authorization: `Bearer ${admin}` },
    payload: { role: 'requester', name: 'bench' },
  });
  const { principal, api_key } = made.json() as { principal: { id: string }; api_key: { key: string } };
  watch(gw.lb.create(spec(principal.id)));
  say({ url: `http://127.0.0.1:${port}`, key: api_key.key });
  process.once('SIGTERM', async () => {
    await gw.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}
