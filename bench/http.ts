import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { freePort, startGateway } from './proc.js';

/** The spec's query with a page of 50: the hot path agents hit. */
export const HTTP_QUERY = '/nodes?resource_type=GPU_A&max_price=2.50&latency_band=regional&limit=50';

export const ENCODINGS = {
  json: 'application/json',
  msgpack: 'application/msgpack',
  protobuf: 'application/x-protobuf',
} as const;

interface Load {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
}

async function load(
  url: string,
  seconds: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<Load> {
  const r = await autocannon({ url, duration: seconds, connections, pipelining: 1, headers });
  return {
    rps: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/** Fetches a URL once and returns its bytes, failing loudly on anything but 200 of the right type. */
async function bytesOf(url: string, accept: string): Promise<Buffer> {
  const res = await fetch(url, { headers: { accept } });
  const type = res.headers.get('content-type') ?? '';
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || !type.toLowerCase().startsWith(accept))
    throw new Error(`${url} (accept ${accept}): ${res.status} ${type} ${buf.toString('utf8', 0, 200)}`);
  return buf;
}

/** Resident set of a process in MB, from /proc (Linux); null elsewhere. */
function rssMbOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/** Two equal-length loads as one: mean req/s, worst of the latency percentiles, summed counts. */
function merge(a: Load, b: Load): Load {
  return {
    rps: Math.round((a.rps + b.rps) / 2),
    p50_ms: Math.max(a.p50_ms, b.p50_ms),
    p99_ms: Math.max(a.p99_ms, b.p99_ms),
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
  };
}

const ratio = (a: number, b: number) => Number((a / Math.max(b, 1e-9)).toFixed(3));

/**
 * req/s of GET /nodes?…&limit=50 on the real gateway (JSON, MessagePack and Protobuf by Accept) and
 * of GET /nodes/:id, each against a bare Fastify route in its own process returning the same JSON
 * bytes: same client (autocannon, in this process), same run, loopback only. Each gateway figure is
 * measured bare, gateway, gateway, bare (half the time each), so drift hits both sides of a ratio.
 */
export async function runHttpBench(seconds = 8, connections = 16) {
  const g = await startGateway();
  try {
    const listUrl = g.url + HTTP_QUERY;
    const body = await bytesOf(listUrl, ENCODINGS.json);
    const msgpackBody = await bytesOf(listUrl, ENCODINGS.msgpack);
    const protobufBody = await bytesOf(listUrl, ENCODINGS.protobuf);
    const msgpackBytes = msgpackBody.length;
    const protobufBytes = protobufBody.length;
    const parsed = JSON.parse(body.toString('utf8')) as { offers: { id: string }[]; count: number };
    const id = parsed.offers[0]?.id;
    if (!id) throw new Error(`${HTTP_QUERY} returned no offers; nothing to fetch by id`);
    const idPath = `/nodes/${encodeURIComponent(id)}`;
    const one = await bytesOf(g.url + idPath, ENCODINGS.json);

    const port = await freePort();
    const bareSrc = `
      const Fastify = (await import('fastify')).default;
      const list = Buffer.from(process.env.BODY, 'base64');
      const one = Buffer.from(process.env.ONE, 'base64');
      const mp = Buffer.from(process.env.MP, 'base64');
      const pb = Buffer.from(process.env.PB, 'base64');
      const app = Fastify();
      // The same bytes in each encoding: the client's cost of reading a body depends on the bytes.
      app.get('/mp/nodes', (req, reply) => { reply.header('content-type', 'application/msgpack').send(mp); });
      app.get('/pb/nodes', (req, reply) => { reply.header('content-type', 'application/x-protobuf').send(pb); });
      app.get('/nodes', (req, reply) => { reply.header('content-type', 'application/json; charset=utf-8').send(list); });
      app.get('/nodes/:id', (req, reply) => { reply.header('content-type', 'application/json; charset=utf-8').send(one); });
      await app.listen({ port: ${port}, host: '127.0.0.1' });
      console.log('ready');`;
    const bare = spawn(process.execPath, ['--input-type=module', '-e', bareSrc], {
      env: {
        ...process.env,
        BODY: body.toString('base64'),
        ONE: one.toString('base64'),
        MP: msgpackBody.toString('base64'),
        PB: protobufBody.toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      bare.once('exit', (c) => reject(new Error(`bare route exited with ${c}`)));
      bare.stdout?.once('data', () => resolve());
    });
    try {
      const bareList = `http://127.0.0.1:${port}${HTTP_QUERY}`;
      const bareOne = `http://127.0.0.1:${port}${idPath}`;
      const warm = Math.min(2, seconds);
      await load(bareList, warm, connections);
      for (const accept of Object.values(ENCODINGS)) await load(listUrl, warm, connections, { accept });
      await load(g.url + idPath, warm, connections);

      // bare, gateway, gateway, bare (half the time each): a load that drifts linearly over the
      // pair (another job on a shared machine) weighs on both sides of the ratio alike.
      const half = Math.max(1, Math.round(seconds / 2));
      const pair = async (bareUrl: string, gwUrl: string, headers: Record<string, string>) => {
        const b1 = await load(bareUrl, half, connections);
        const g1 = await load(gwUrl, half, connections, headers);
        const g2 = await load(gwUrl, half, connections, headers);
        const b2 = await load(bareUrl, half, connections);
        const b = merge(b1, b2);
        const gw = merge(g1, g2);
        return {
          bare_route: b,
          gateway: gw,
          ratio_vs_bare: ratio(gw.rps, b.rps),
          halves_ratio: [ratio(g1.rps, b1.rps), ratio(g2.rps, b2.rps)],
        };
      };
      const json = await pair(bareList, listUrl, { accept: ENCODINGS.json });
      const bareMp = `http://127.0.0.1:${port}/mp${HTTP_QUERY}`;
      const barePb = `http://127.0.0.1:${port}/pb${HTTP_QUERY}`;
      const msgpack = await pair(bareMp, listUrl, { accept: ENCODINGS.msgpack });
      const protobuf = await pair(barePb, listUrl, { accept: ENCODINGS.protobuf });
      const byId = await pair(bareOne, g.url + idPath, { accept: ENCODINGS.json });
      // The miss path: every request runs the query, the serializer and the write (no reuse of a
      // cached reply), as the first request after each market refresh does.
      const uncached = await pair(bareList, listUrl, { accept: ENCODINGS.json, 'cache-control': 'no-cache' });
      return {
        query: HTTP_QUERY,
        offers_returned: parsed.count,
        body_bytes: {
          json: body.length,
          msgpack: msgpackBytes,
          protobuf: protobufBytes,
          by_id_json: one.length,
        },
        seconds,
        connections,
        pipelining: 1,
        gateway_rss_mb_after_load: rssMbOf(g.proc.pid),
        // Kept flat for the JSON list (the bar): gateway vs the bare route, same bytes.
        bare_route: json.bare_route,
        gateway: json.gateway,
        ratio_vs_bare: json.ratio_vs_bare,
        halves_ratio: json.halves_ratio,
        encodings: {
          // Each against a bare route returning the same bytes in the same encoding.
          msgpack,
          protobuf,
        },
        by_id: { path: '/nodes/:id', ...byId },
        uncached_json: uncached,
      };
    } finally {
      bare.kill('SIGTERM');
    }
  } finally {
    await g.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runHttpBench(Number(process.argv[2] ?? 8)).then((r) => console.log(JSON.stringify(r, null, 2)));
}
