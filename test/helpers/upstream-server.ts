/**
 * A small inference-like HTTP server, run as its own process (test/helpers/upstream.ts starts it)
 * so a test can SIGKILL it. `node upstream-server.js --port 0 --name a` prints `{"port": n}` once
 * listening. Paths:
 *
 *   GET  /health                  200, or 503 once told `{"healthy": false}`
 *   POST /_control                `{"delay_ms", "fail_status", "healthy"}`: how later requests go
 *   GET  /_control/stats?id=X     requests seen, and how many carried X-Request-Id X
 *   POST /_control/release        lets every waiting /sse stream finish
 *   GET  /sse                     one event, then the rest only after /_control/release
 *   GET  /slow?ms=N               answers after N ms
 *   GET  /status/NNN              answers NNN
 *   GET  /bench                   a fixed 13-byte JSON body (the benchmark's request)
 *   *    anything else            reads the body, answers JSON: name, method, url, headers, body_bytes
 *
 * `delay_ms` and `fail_status` apply to the last kind only, so probes stay unaffected.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? (process.argv[i + 1] ?? d) : d;
};
const name = arg('name', 'upstream');
const state = { delay_ms: 0, fail_status: 0, healthy: true };
const seen = new Map<string, number>();
let requests = 0;
let waiting: (() => void)[] = [];

const BENCH_BODY = Buffer.from('{"ok":true}\n\n');
const json = (res: ServerResponse, status: number, body: unknown) => {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length });
  res.end(b);
};
const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  if (path === '/bench') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BENCH_BODY.length });
    return res.end(BENCH_BODY);
  }
  if (path === '/health') return json(res, state.healthy ? 200 : 503, { name, healthy: state.healthy });
  if (path === '/_control' && req.method === 'POST') {
    Object.assign(state, JSON.parse((await readBody(req)).toString('utf8') || '{}'));
    return json(res, 200, state);
  }
  if (path === '/_control/stats') {
    const id = url.searchParams.get('id');
    return json(res, 200, { name, requests, seen: id ? (seen.get(id) ?? 0) : null });
  }
  if (path === '/_control/release') {
    const w = waiting;
    waiting = [];
    for (const f of w) f();
    return json(res, 200, { released: w.length });
  }
  requests++;
  const rid = req.headers['x-request-id'];
  if (typeof rid === 'string') seen.set(rid, (seen.get(rid) ?? 0) + 1);
  if (path === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`data: ${JSON.stringify({ n: 1, name })}\n\n`);
    await new Promise<void>((r) => waiting.push(r));
    res.write(`data: ${JSON.stringify({ n: 2, name })}\n\n`);
    res.write(`data: ${JSON.stringify({ n: 3, name })}\n\n`);
    return res.end();
  }
  if (path === '/slow') {
    await sleep(Number(url.searchParams.get('ms') ?? 1000));
    return json(res, 200, { name, slow: true });
  }
  const m = /^\/status\/(\d{3})$/.exec(path);
  if (m) return json(res, Number(m[1]), { name, status: Number(m[1]) });
  const body = await readBody(req);
  if (state.delay_ms > 0) await sleep(state.delay_ms);
  if (state.fail_status) return json(res, state.fail_status, { name, failing: true });
  json(res, 200, { name, method: req.method, url: req.url, headers: req.headers, body_bytes: body.length });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(arg('port', '0')), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0, name })}\n`);
});
