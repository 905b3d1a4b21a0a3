import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, startGateway } from './proc.js';

/** The spec's query with a page of 50: the hot path agents hit. */
export const HTTP_QUERY = '/nodes?resource_type=GPU_A&max_price=2.50&latency_band=regional&limit=50';

async function load(url: string, seconds: number, connections: number) {
  const r = await autocannon({ url, duration: seconds, connections, pipelining: 1 });
  return {
    rps: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/**
 * req/s of GET /nodes?…&limit=50 on the real gateway against a bare Fastify route returning the
 * same bytes, same client, same run (loopback only; each load stops by itself).
 */
export async function runHttpBench(seconds = 8, connections = 16) {
  const g = await startGateway();
  try {
    const res = await fetch(g.url + HTTP_QUERY);
    const body = await res.text();
    const port = await freePort();
    const bareSrc = `
      const Fastify = (await import('fastify')).default;
      const body = Buffer.from(process.env.BODY, 'base64');
      const app = Fastify();
      app.get('/nodes', (req, reply) => { reply.header('content-type', 'application/json; charset=utf-8').send(body); });
      await app.listen({ port: ${port}, host: '127.0.0.1' });
      console.log('ready');`;
    const bare = spawn(process.execPath, ['--input-type=module', '-e', bareSrc], {
      env: { ...process.env, BODY: Buffer.from(body).toString('base64') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => bare.stdout?.once('data', () => resolve()));
    try {
      const bareUrl = `http://127.0.0.1:${port}${HTTP_QUERY}`;
      await load(bareUrl, 2, connections); // warm-up
      await load(g.url + HTTP_QUERY, 2, connections);
      const baseline = await load(bareUrl, seconds, connections);
      const gateway = await load(g.url + HTTP_QUERY, seconds, connections);
      return {
        query: HTTP_QUERY,
        body_bytes: Buffer.byteLength(body),
        seconds,
        connections,
        bare_route: baseline,
        gateway,
        ratio_vs_bare: Number((gateway.rps / baseline.rps).toFixed(3)),
      };
    } finally {
      bare.kill('SIGTERM');
    }
  } finally {
    await g.stop();
  }
}
