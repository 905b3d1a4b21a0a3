import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ComputeMdClient } from '../src/sdk/client.js';
import { packagePath } from '../src/util/paths.js';
import { type ListeningGateway, listenTestGateway } from './helpers/gateway.js';
import { BASE_ENV } from './helpers/serve.js';

/**
 * The spec's own client code, running: examples/book-distributed.mjs under Node and
 * examples/dynamic_allocation.py under python3 (standard library only) against a real gateway,
 * checked by the lines they print. Each keeps the spec's lines (docs/spec.md) as written, except
 * the few this test names, and marks every change.
 */

let g: ListeningGateway;
let token: string;
let agent: ComputeMdClient;

before(async () => {
  g = await listenTestGateway();
  const admin = new ComputeMdClient({ baseUrl: g.base, token: g.admin });
  const p = await admin.createPrincipal({ role: 'requester', name: 'spec-agent' });
  await admin.credit(p.principal.id, 2000);
  token = p.api_key.key;
  agent = new ComputeMdClient({ baseUrl: g.base, token });
});
after(async () => {
  await g?.close();
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(cmd, args, { env: { ...BASE_ENV, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

const spec = readFileSync(packagePath('docs', 'spec.md'), 'utf8');
/** The spec's lines between two headings, trimmed, blank lines dropped. */
function specLines(from: string, to: string): string[] {
  const start = spec.indexOf(from) + from.length;
  return spec
    .slice(start, spec.indexOf(to, start))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
const exampleLines = (file: string) =>
  readFileSync(packagePath('examples', file), 'utf8')
    .split('\n')
    .map((l) => l.trim());

describe('the examples keep the spec’s lines', () => {
  const cases: { file: string; from: string; to: string; replaced: string[] }[] = [
    {
      file: 'book-distributed.mjs',
      from: 'Distributed Training',
      to: 'Multi-Provider Inference',
      // The gateway's address instead of https://compute.md.
      replaced: [
        "const options = await fetch('https://compute.md/discover?gpu_hours=1000&min_memory_gb=24&max_price=1.00&sort=price_asc')",
        "const response = await fetch('https://compute.md/book', {",
      ],
    },
    {
      file: 'dynamic_allocation.py',
      from: 'Dynamic Resource Allocation',
      to: 'Why This Matters',
      replaced: ['while True:'], // bounded
    },
  ];
  for (const c of cases) {
    it(`${c.file}: every spec line is there as written but ${c.replaced.length}; each change is marked`, () => {
      const lines = exampleLines(c.file);
      const spec = specLines(c.from, c.to);
      assert.ok(spec.length > 15, `found the spec's code (${spec.length} lines)`);
      assert.deepEqual(
        spec.filter((l) => !lines.includes(l)),
        c.replaced,
      );
      // Any other line is a comment, or carries a CHANGED mark, or follows a comment line marked
      // CHANGED, or sits in a block (a Python def or class) whose header is marked.
      const src = readFileSync(packagePath('examples', c.file), 'utf8').split('\n');
      let afterMark = false;
      let inMarkedBlock = false;
      for (const raw of src) {
        const l = raw.trim();
        if (l === '') continue;
        const comment = l.startsWith('//') || l.startsWith('#');
        const mark = l.includes('CHANGED');
        const top = !/^\s/.test(raw);
        const covered = comment || mark || spec.includes(l) || afterMark || (!top && inMarkedBlock);
        assert.ok(covered, `${c.file}: "${l}" is neither the spec's nor marked CHANGED`);
        if (top && !comment) inMarkedBlock = (mark || afterMark) && /^(def|class) /.test(l);
        afterMark = comment && mark;
      }
    });
  }
});

describe('the examples run', () => {
  const env = () => ({ COMPUTEMD_URL: g.base, COMPUTEMD_TOKEN: token });

  it('book-distributed.mjs books the spec’s distributed allocation and prints its three lines', async () => {
    const r = await run(process.execPath, [packagePath('examples', 'book-distributed.mjs')], env());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0] ?? '', /^Booked \d+(\.\d+)? hours$/);
    assert.match(lines[1] ?? '', /^Total cost: \$\d+(\.\d+)?$/);
    assert.match(lines[2] ?? '', /^Savings vs traditional: -?\d+(\.\d+)?%$/);
    // What it printed is the booking the gateway holds.
    const [b] = (await agent.bookings({ limit: 1 })).bookings;
    assert.equal(b?.plan, 'distributed');
    assert.equal(lines[0], `Booked ${b?.total_gpu_hours} hours`);
    assert.equal(lines[1], `Total cost: $${b?.total_cost}`);
    assert.equal(b?.payment.method, 'STABLE_COIN');
  });

  it('book-distributed.mjs with a bad token prints the gateway’s detail, not a booking', async () => {
    const r = await run(process.execPath, [packagePath('examples', 'book-distributed.mjs')], {
      ...env(),
      COMPUTEMD_TOKEN: 'cmd_not_a_key',
    });
    assert.match(r.stderr, /^Error booking compute: Error: 401: /m);
    assert.doesNotMatch(r.stdout, /Booked/);
  });

  it('dynamic_allocation.py books on P2P where clouds cost over 3×, and prints what it saves', async () => {
    const before = (await agent.bookings({ limit: 100 })).bookings.length;
    const spot = await agent.spotPrices();
    // The rule the loop applies, on the same prices (the test gateway's clock stands still).
    const expected = (['GPU_A', 'GPU_B', 'GPU_C'] as const).filter((k) => {
      const p2p = spot.p2p_market[k];
      const cloud = spot.traditional[k];
      return p2p !== null && cloud !== null && cloud > p2p * 3;
    });
    assert.ok(expected.length >= 1, 'the shipped prices give the loop something to do');
    const r = await run('python3', [packagePath('examples', 'dynamic_allocation.py')], {
      ...env(),
      COMPUTEMD_ROUNDS: '1',
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, expected.length, r.stdout);
    for (const l of lines) assert.match(l, /^Optimization: \d+(\.\d+)?(e-\d+)? per hour saved$/);
    const after = (await agent.bookings({ limit: 100 })).bookings;
    assert.equal(after.length, before + expected.length, 'one P2P booking per opportunity');
    for (const b of after.slice(0, expected.length)) {
      assert.equal(b.plan, 'p2p');
      assert.equal(b.total_gpu_hours, 10);
    }
  });

  it('dynamic_allocation.py with a bad token exits non-zero with the gateway’s detail', async () => {
    const r = await run('python3', [packagePath('examples', 'dynamic_allocation.py')], {
      ...env(),
      COMPUTEMD_TOKEN: 'cmd_not_a_key',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /GET \/prices\/spot: 401 /);
  });
});
