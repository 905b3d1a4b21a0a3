// `npm start` builds first when dist/ is missing or older than any source file.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}
const out = 'dist/src/cli/main.js';
if (!existsSync(out) || statSync(out).mtimeMs < newest('src')) {
  console.error('computemd: building (tsc)…');
  execSync('npx tsc -p tsconfig.json', { stdio: 'inherit' });
}
