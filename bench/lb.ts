/**
 * Issue 8: the load balancer (`/lb/:id`) against nginx over the same three upstreams, same run,
 * same client. `npm run bench -- --lb`, or alone: `node dist/bench/lb.js [seconds]`.
 *
 * - Throughput: autocannon, GET of a 13-byte body, through the gateway's balancer and through
 *   nginx, measured nginx, gateway, gateway, nginx (half the time each) so drift weighs on both.
 * - Latency added: one request at a time over one kept-alive connection, timed in µs, direct to
 *   the upstreams (in turn), through the gateway and through nginx, interleaved in rounds.
 * - Ejection: an upstream SIGKILLed, under load and idle; the time from the kill to the balancer's
 *   own "down" event (the gateway process prints it), and the requests that failed meanwhile.
 *
 * With two or more CPUs and `taskset`, the proxy under test (gateway or nginx) runs alone on CPU 0;
 * the upstreams, autocannon and this runner share the last CPU.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { startUpstream, type Upstream } from '../test/helpers/upstream.js';
import { startNginx } from './lb-nginx.js';
import { type Latency, type Load, load, pinning, pinSelf, sequentialLatency } from './lb-probe.js';
import { freePort } from './proc.js';
import { round } from './stats.js';

export interface Ejection {
  victim: string;
  under_load: boolean;
  kill_to_down_ms: number | null;
  reason: string | null;
  /** Requests of the background load that did not get a 200 (under load only). */
  failed: number;
  sent: number;
  rejoined_ms_after_restart: number | null;
}

export interface LbBenchResult {
  seconds: number;
  connections: number;
  pinned: boolean;
  nginx: string | null;
  throughput: {
    gateway: Load;
    nginx: Load | null;
    /** The balancer behind a plain node:http server: the proxy core without the gateway's stack. */
    bare: Load;
    ratio_vs_nginx: number | null;
    halves_ratio: number[];
    bare_ratio_vs_nginx: number | null;
  };
  latency: {
    direct: Latency;
    gateway: Latency;
    bare: Latency;
    nginx: Latency | null;
    added_p50_ms_gateway: number;
    added_p50_ms_nginx: number | null;
  };
  ejection: Ejection[];
}

interface GatewayChild {
  proc: ChildProcess;
  url: string;
  key: string;
  /** Endpoint events as the gateway printed them. */
  events: { event: string; endpoint: string; reason: string; at: number }[];
  stop(): Promise<void>;
}

async function startLbGateway(upstreams: string[], prefix: string[], bare = false): Promise<GatewayChild> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./lb-gateway.js', import.meta.url));
  const argv = [...prefix, process.execPath, script, ...(bare ? ['--bare'] : []), String(port), ...upstreams];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: GatewayChild['events'] = [];
  let first: ((v: { url: string; key: string }) => void) | null = null;
  const ready = new Promise<{ url: string; key: string }>((resolve, reject) => {
    first = resolve;
    proc.once('exit', (c) => reject(new Error(`bench gateway exited with ${c}`)));
  });
  let buf = '';
  proc.stdout?.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const o = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
      buf = buf.slice(i + 1);
      if ('event' in o) events.push(o as GatewayChild['events'][number]);
      else first?.(o as { url: string; key: string });
      i = buf.indexOf('\n');
    }
  });
  const { url, key } = await ready;
  return {
    proc,
    url,
    key,
    events,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[lb] ${s}\n`);
const ratio = (a: number, b: number) => Number((a / Math.max(b, 1e-9)).toFixed(3));

function merge(a: Load, b: Load): Load {
  const failed: Record<string, number> = { ...a.failed };
  for (const [k, v] of Object.entries(b.failed)) failed[k] = (failed[k] ?? 0) + v;
  const avg = (x: number | null, y: number | null) =>
    x === null || y === null ? null : round((x + y) / 2, 2);
  return {
    rps: Math.round((a.rps + b.rps) / 2),
    p50_ms: Math.max(a.p50_ms, b.p50_ms),
    p99_ms: Math.max(a.p99_ms, b.p99_ms),
    failed,
    proxy_cpu_ms_per_1k: avg(a.proxy_cpu_ms_per_1k, b.proxy_cpu_ms_per_1k),
    proxy_cpu_share: avg(a.proxy_cpu_share, b.proxy_cpu_share),
  };
}

/** Kills one upstream, times the balancer's "down" event, restarts it and times its return. */
async function ejectionRun(gw: GatewayChild, victim: Upstream, underLoad: boolean): Promise<Ejection> {
  const id = `u${victim.name.slice(1)}`;
  const pool = new Pool(gw.url, { connections: 8 });
  let sent = 0;
  let failed = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      sent++;
      try {
        const r = await pool.request({
          method: 'GET',
          path: '/lb/fleet/bench',
          headers: { authorization: `Bearer ${gw.key}` },
        });
        await r.body.dump();
        if (r.statusCode !== 200) failed++;
      } catch {
        failed++;
      }
    }
  };
  const workers = underLoad ? Array.from({ length: 4 }, worker) : [];
  await sleep(underLoad ? 500 : 1500);
  const seen = gw.events.length;
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  let down: GatewayChild['events'][number] | undefined;
  for (let i = 0; i < 500 && !down; i++) {
    down = gw.events.slice(seen).find((e) => e.event === 'down' && e.endpoint === id);
    if (!down) await sleep(10);
  }
  await sleep(500);
  stop = true;
  await Promise.all(workers);
  const upSeen = gw.events.length;
  const restartedAt = Date.now();
  await victim.restart();
  let up: GatewayChild['events'][number] | undefined;
  for (let i = 0; i < 1000 && !up; i++) {
    up = gw.events.slice(upSeen).find((e) => e.event === 'up' && e.endpoint === id);
    if (!up) await sleep(10);
  }
  await pool.close();
  return {
    victim: id,
    under_load: underLoad,
    kill_to_down_ms: down ? down.at - killedAt : null,
    reason: down?.reason ?? null,
    failed,
    sent,
    rejoined_ms_after_restart: up ? up.at - restartedAt : null,
  };
}

export async function runLbBench(seconds = 8, connections = 16): Promise<LbBenchResult> {
  const pin = pinning();
  if (pin) pinSelf(pin.rest);
  const rest = pin ? ['taskset', '-c', pin.rest] : [];
  const proxyCpu = pin ? ['taskset', '-c', pin.proxy] : [];
  const ups: Upstream[] = [];
  let gw: GatewayChild | null = null;
  let bare: GatewayChild | null = null;
  let ngx: Awaited<ReturnType<typeof startNginx>> = null;
  try {
    ups.push(...(await Promise.all(['u1', 'u2', 'u3'].map((n) => startUpstream(n, 0, rest)))));
    const urls = ups.map((u) => u.url);
    gw = await startLbGateway(urls, proxyCpu);
    bare = await startLbGateway(urls, proxyCpu, true);
    log(`gateway at ${gw.url}, bare proxy at ${bare.url}; starting nginx`);
    ngx = await startNginx(
      await freePort(),
      ups.map((u) => u.port),
      gw.key,
      proxyCpu,
    );
    const auth = { authorization: `Bearer ${gw.key}` };
    const path = '/lb/fleet/bench';
    const half = Math.max(1, Math.round(seconds / 2));
    const [g, b, n] = [gw, bare, ngx];
    const gwLoad = () => load(g.url, path, auth, half, connections, g.proc.pid);
    const bareLoad = () => load(b.url, path, auth, half, connections, b.proc.pid);
    const ngxLoad = () => (n ? load(n.url, path, auth, half, connections, n.workerPid) : null);
    log(`nginx: ${n?.version ?? 'not installed'}; warming up`);
    // Warm-up: JIT, connection pools on both sides.
    for (const u of [g.url, b.url, ...(n ? [n.url] : [])])
      await load(u, path, auth, 2, connections, undefined);
    log(`throughput: ${half} s loads: nginx, gateway, bare proxy, bare proxy, gateway, nginx`);
    const n1 = await ngxLoad();
    const g1 = await gwLoad();
    const b1 = await bareLoad();
    const b2 = await bareLoad();
    const g2 = await gwLoad();
    const n2 = await ngxLoad();
    const gateway = merge(g1, g2);
    const bareProxy = merge(b1, b2);
    const nginx = n1 && n2 ? merge(n1, n2) : null;

    const direct = ups.map((u) => [u.url, '/bench', {}] as [string, string, Record<string, string>]);
    const groups: Parameters<typeof sequentialLatency>[0] = {
      direct,
      gateway: [[g.url, path, auth]],
      bare: [[b.url, path, auth]],
    };
    if (n) groups.nginx = [[n.url, path, auth]];
    log('latency: one request at a time, 5 rounds of 1,000 per target');
    const lat = await sequentialLatency(groups, 5, 1000, 500);

    log('ejection: SIGKILL an upstream 3× under load, 3× idle');
    const ejection: Ejection[] = [];
    for (const [i, underLoad] of [true, true, true, false, false, false].entries())
      ejection.push(await ejectionRun(g, ups[i % 3]!, underLoad));
    return {
      seconds,
      connections,
      pinned: pin !== null,
      nginx: n?.version ?? null,
      throughput: {
        gateway,
        nginx,
        bare: bareProxy,
        ratio_vs_nginx: nginx ? ratio(gateway.rps, nginx.rps) : null,
        halves_ratio: n1 && n2 ? [ratio(g1.rps, n1.rps), ratio(g2.rps, n2.rps)] : [],
        bare_ratio_vs_nginx: nginx ? ratio(bareProxy.rps, nginx.rps) : null,
      },
      latency: {
        direct: lat.direct!,
        gateway: lat.gateway!,
        bare: lat.bare!,
        nginx: lat.nginx ?? null,
        added_p50_ms_gateway: round(lat.gateway!.p50_ms - lat.direct!.p50_ms, 3),
        added_p50_ms_nginx: lat.nginx ? round(lat.nginx.p50_ms - lat.direct!.p50_ms, 3) : null,
      },
      ejection,
    };
  } finally {
    await ngx?.stop();
    await gw?.stop();
    await bare?.stop();
    await Promise.all(ups.map((u) => u.kill('SIGKILL')));
    if (pin) pinSelf(pin.all);
  }
}

const pass = (ok: boolean) => (ok ? 'PASS' : '**FAIL**');

/** The rows of the bench table (run.ts): figure, value, bar, baseline, result. */
export function lbRows(r: LbBenchResult): string[][] {
  const t = r.throughput;
  const cpu = (l: Load) =>
    l.proxy_cpu_ms_per_1k === null
      ? ''
      : `; proxy CPU ${l.proxy_cpu_ms_per_1k} ms per 1k requests, ${l.proxy_cpu_share} of a core`;
  const fails = (l: Load) => (Object.keys(l.failed).length ? `; failed ${JSON.stringify(l.failed)}` : '');
  const rows: string[][] = [
    [
      `LB: \`GET /lb/:id/…\` req/s, ${r.connections} connections${r.pinned ? ' (proxy pinned alone on CPU 0)' : ''}`,
      `${t.gateway.rps} req/s (p50 ${t.gateway.p50_ms} ms, p99 ${t.gateway.p99_ms} ms${cpu(t.gateway)}${fails(t.gateway)})`,
      '≥ 80% of nginx',
      t.nginx
        ? `${r.nginx}: ${t.nginx.rps} req/s (p99 ${t.nginx.p99_ms} ms${cpu(t.nginx)}) → ${(t.ratio_vs_nginx! * 100).toFixed(1)}%`
        : 'nginx not installed',
      t.nginx ? pass(t.ratio_vs_nginx! >= 0.8) : '**NOT MEASURED**',
    ],
  ];
  rows.push([
    'LB: the same balancer behind plain `node:http` (no Fastify, auth, metrics), same load',
    `${t.bare.rps} req/s (p50 ${t.bare.p50_ms} ms, p99 ${t.bare.p99_ms} ms${cpu(t.bare)}${fails(t.bare)})`,
    'none (where the cost lies)',
    t.nginx ? `${(t.bare_ratio_vs_nginx! * 100).toFixed(1)}% of nginx` : '',
    'info',
  ]);
  const l = r.latency;
  rows.push([
    'LB: added latency, one request at a time (p50 over direct)',
    `+${l.added_p50_ms_gateway} ms (gateway p50 ${l.gateway.p50_ms} ms, p99 ${l.gateway.p99_ms} ms)`,
    '≤ 0.5 ms',
    `direct p50 ${l.direct.p50_ms} ms; bare proxy p50 ${l.bare.p50_ms} ms${l.nginx ? `; nginx p50 ${l.nginx.p50_ms} ms (+${l.added_p50_ms_nginx} ms)` : ''}`,
    pass(l.added_p50_ms_gateway <= 0.5),
  ]);
  for (const e of r.ejection)
    rows.push([
      `LB: upstream SIGKILLed ${e.under_load ? 'under load' : 'idle'} → out of rotation`,
      `${e.kill_to_down_ms ?? 'never'} ms (${e.reason ?? '—'}); rejoined ${e.rejoined_ms_after_restart ?? 'never'} ms after restart`,
      'within 1 s',
      e.under_load ? `${e.failed} of ${e.sent} requests failed meanwhile` : 'no traffic: active checks only',
      pass(e.kill_to_down_ms !== null && e.kill_to_down_ms <= 1000 && e.failed === 0),
    ]);
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runLbBench(Number(process.argv[2] ?? 8)).then((r) => {
    console.log(JSON.stringify(r, null, 2));
    for (const row of lbRows(r)) console.log(`| ${row.join(' | ')} |`);
  });
}
