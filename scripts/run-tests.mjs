// Runs every compiled test file (unit tests beside the code, scenarios in test/) with node's test
// runner. Node 20 has no glob support in --test, so the files are listed here. Extra arguments
// narrow the run: `npm test -- market` runs only files whose path contains "market".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...walk('dist/src', []), ...walk('dist/test', [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const reporter = 'spec';
// Suites that run node agents, sandboxed work and failovers on the real clock: they run after
// the rest, one file at a time, so two of them never share the two CPUs and their node agents'
// heartbeats and checkpoints keep time.
const SERIAL = [
  'failover.test',
  'validation.test',
  'restart.test',
  'serving.test',
  'lease-runtime.test',
  'lb-failover.test',
];
const serial = files.filter((f) => SERIAL.some((x) => f.endsWith(`${x}.js`)));
const parallel = files.filter((f) => !serial.includes(f));
let status = 0;
for (const [group, concurrency] of [
  [parallel, 2],
  [serial, 1],
]) {
  if (group.length === 0) continue;
  const res = spawnSync(
    process.execPath,
    ['--test', `--test-reporter=${reporter}`, `--test-concurrency=${concurrency}`, ...group],
    { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
  );
  status = Math.max(status, res.status ?? 1);
}
process.exit(status);
