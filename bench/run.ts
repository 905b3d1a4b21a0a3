/**
 * `npm run bench`: the issue's speed bars in one run.
 *
 *   (a) market: `node --expose-gc dist/bench/market.js` in a child process, so its RSS is the
 *       market's own and nothing else (autocannon, HTTP buffers) has grown the heap;
 *   (b) cold start: `computemd serve` (built) to /health 200, against a bare `node -e ''`;
 *   (c) HTTP: the gateway against a bare Fastify route returning the same bytes (autocannon);
 *   (d) planner: `node dist/bench/planner.js` in a child (its own solver worker): the solver alone
 *       on 1k/10k/100k candidate offers, then whole plans, with the MILP/greedy cost ratio;
 *   (e) bookings (issue 4): `POST /book` per second over HTTP, 32 clients, on SQLite and PostgreSQL,
 *       against the raw store's rate for the same statements (bench/booking.ts);
 *   (f) auth (issue 5): each kind of credential on the same route against an API key, and bookings
 *       under a budgeted UCAN against the API key (bench/auth.ts);
 *   (g) sandbox (issue 6): a one-second CPU job under bwrap + a cgroup against the same job bare,
 *       and the time from asking for a sandboxed run to its first instruction (bench/sandbox.ts).
 *
 * Flags pick sections (`--market --cold --http --planner --booking --auth --sandbox --lb`, any mix); none runs them all.
 * `--lb`: the load balancer against nginx over the same upstreams (issue 8; bench/lb.ts).
 * Prints one JSON summary, then a markdown table of every figure against its bar, and writes the
 * JSON to the OS temp dir (path printed). BENCH_QUICK=1: a smoke run (100k only, 2 s loads).
 * A benchmark is not a test: the exit code is 0 whatever the bars say, unless a bench crashed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuthBench } from './auth.js';
import { runBookToRunBench } from './book-to-run.js';
import { runBookingBench } from './booking.js';
import { runColdStartBench } from './coldstart.js';
import { runHttpBench } from './http.js';
import { runLbBench } from './lb.js';
import { BARS, type MarketResult, type PlannerResult, type Results, table } from './report.js';
import { runSandboxBench } from './sandbox.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SIZES = QUICK ? [100_000] : [100_000, 1_000_000];
const HTTP_SECONDS = QUICK ? 2 : 8;
const HTTP_CONNECTIONS = 16;
const COLD_RUNS = QUICK ? 3 : 5;
const BOOKING_SECONDS = QUICK ? 2 : 5;
const SECTIONS = ['market', 'cold', 'http', 'planner', 'booking', 'auth', 'sandbox', 'lb'] as const;
type Section = (typeof SECTIONS)[number];
const FLAGS = process.argv.slice(2).filter((a) => a.startsWith('--'));
for (const f of FLAGS)
  if (!SECTIONS.includes(f.slice(2) as Section))
    throw new Error(`unknown flag ${f}; sections: ${SECTIONS.map((x) => `--${x}`).join(' ')}`);
const want = (s: Section) => FLAGS.length === 0 || FLAGS.includes(`--${s}`);

function runMarketChild(sizes: number[]): Promise<MarketResult> {
  return runChild<MarketResult>('./market.js', ['--expose-gc'], sizes.map(String));
}

/**
 * The planner bench in its own process (its own solver worker): the solver alone on every size,
 * whole plans on `planSizes` (whole plans over 100k candidates take tens of seconds each since the
 * pre-aggregation fix: `node dist/bench/planner.js --plan 100000` measures them alone).
 */
async function runPlannerChild(solverSizes: number[], planSizes: number[]): Promise<PlannerResult> {
  const solver = await runChild<PlannerResult>('./planner.js', [], ['--solver', ...solverSizes.map(String)]);
  const plan = await runChild<PlannerResult>('./planner.js', [], ['--plan', ...planSizes.map(String)]);
  return { ...solver, plan: plan.plan ?? [] };
}

function runChild<T>(file: string, nodeArgs: string[], args: string[]): Promise<T> {
  const script = fileURLToPath(new URL(file, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('exit', (code) => {
      const out = Buffer.concat(chunks).toString('utf8');
      if (code !== 0) return reject(new Error(`${file} exited with ${code}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${file} printed no JSON: ${out.slice(0, 300)}`));
      }
    });
  });
}

function machine() {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    // not Linux
  }
  return {
    cpus: availableParallelism(),
    cpu_model: cpuModel,
    mem_total_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const started = new Date().toISOString();
  const log = (s: string) =>
    process.stderr.write(`[bench] ${s} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  const res: Results = {};
  if (want('market')) {
    log(`market ${SIZES.join(', ')} offers in a child with --expose-gc`);
    res.market = await runMarketChild(SIZES);
  }
  if (want('cold')) {
    log('cold start');
    res.cold = await runColdStartBench(COLD_RUNS);
  }
  if (want('http')) {
    log(`http ${HTTP_SECONDS} s loads, ${HTTP_CONNECTIONS} connections`);
    res.http = await runHttpBench(HTTP_SECONDS, HTTP_CONNECTIONS);
  }
  if (want('planner')) {
    log('planner (solver, then whole plans)');
    res.planner = await runPlannerChild(QUICK ? [1000, 10_000] : [1000, 10_000, 100_000], [1000, 10_000]);
  }
  if (want('booking')) {
    log(`bookings: ${BOOKING_SECONDS} s loads, 32 clients, SQLite then PostgreSQL`);
    res.booking = await runBookingBench(BOOKING_SECONDS, 32);
  }
  if (want('auth')) {
    log(`auth: ${BOOKING_SECONDS} s loads, 16 connections, one credential kind at a time`);
    res.auth = await runAuthBench(BOOKING_SECONDS, 16);
  }
  if (want('lb')) {
    log(`load balancer: /lb/:id against nginx, ${HTTP_SECONDS} s loads, ${HTTP_CONNECTIONS} connections`);
    res.lb = await runLbBench(HTTP_SECONDS, HTTP_CONNECTIONS);
  }
  if (want('sandbox')) {
    log('sandbox: a 1-second CPU job bare and sandboxed, interleaved');
    res.sandbox = await runSandboxBench();
    log('sandbox: POST /book to the first instruction on a node agent, against the sandbox alone');
    res.bookToRun = await runBookToRunBench();
  }
  log('done');
  const summary = {
    bench: 'computemd',
    quick: QUICK,
    machine: machine(),
    started_utc: started,
    wall_s: Math.round((performance.now() - t0) / 1000),
    sections: SECTIONS.filter(want),
    bars: BARS,
    market: res.market,
    cold_start: res.cold,
    http: res.http,
    planner: res.planner,
    booking: res.booking,
    auth: res.auth,
    lb: res.lb,
    sandbox: res.sandbox,
    book_to_run: res.bookToRun,
  };
  const md = table(res);
  console.log(JSON.stringify(summary, null, 2));
  console.log();
  console.log(md);
  const dir = join(tmpdir(), 'computemd-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  writeFileSync(file, `${JSON.stringify({ ...summary, table_md: md }, null, 2)}\n`);
  console.log(`\nJSON written to ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
