import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capture, sandboxSuites, workDir } from './testing.js';
import { SandboxUnavailableError } from './types.js';
import { runWasm, type WasmSpec } from './wasm.js';
import { growModule, helloModule, spinModule } from './wasm-fixtures.js';

const spec = (module: Uint8Array, over: Partial<WasmSpec['limits']> = {}): WasmSpec => ({
  module,
  args: [],
  env: {},
  workDir: workDir(),
  limits: { memoryBytes: 16 << 20, timeoutMs: 20_000, ...over },
});

await sandboxSuites('runWasm', (support) => {
  describe('runWasm in the sandbox', () => {
    it('runs a WASI module that writes to stdout and exits 0', async () => {
      const c = capture();
      const res = await (await runWasm(spec(helloModule('hello\n')), { support, ...c })).result;
      assert.deepEqual([res.reason, res.exitCode, res.mode], ['exited', 0, 'sandbox'], c.err());
      assert.equal(c.out(), 'hello\n');
    });

    it('stops an infinite loop at the timeout, with live usage while it spins', async () => {
      const r = await runWasm(spec(spinModule(), { timeoutMs: 1000 }), { support });
      await new Promise((res) => setTimeout(res, 600));
      assert.ok(r.usage().cpuSeconds > 0);
      const res = await r.result;
      assert.equal(res.reason, 'timeout');
      assert.equal(res.signal, 'SIGKILL');
    });

    it('caps linear memory: growing past memoryBytes is refused, within it granted', async () => {
      // 16 MiB = 256 pages of 64 KiB; the module starts with 1.
      const cases: Array<[number, number]> = [
        [1024, 3], // 1 + 1024 pages > 256: memory.grow returns -1, the module exits 3
        [16, 0], // 1 + 16 ≤ 256: granted, exits 0
      ];
      for (const [pages, code] of cases) {
        const res = await (await runWasm(spec(growModule(pages)), { support })).result;
        assert.equal(res.exitCode, code, `grow ${pages}`);
      }
    });

    it('reports a module that does not compile with status 70 and why', async () => {
      const c = capture();
      const res = await (await runWasm(spec(new Uint8Array([0, 97, 115, 109, 9, 9])), { support, ...c }))
        .result;
      assert.equal(res.exitCode, 70);
      assert.match(c.err(), /does not compile/);
    });
  });
});

describe('runWasm elsewhere', () => {
  it('runs in rlimits mode', async () => {
    const c = capture();
    const r = await runWasm(spec(helloModule('hi\n')), { mode: 'rlimits', ...c });
    assert.equal(r.mode, 'rlimits');
    assert.ok(r.gaps.some((g) => g.startsWith('memory: only the WASM')));
    const res = await r.result;
    assert.deepEqual([res.exitCode, res.mode], [0, 'rlimits'], c.err());
    assert.equal(c.out(), 'hi\n');
  });

  it('throws SandboxUnavailableError without a cgroup', async () => {
    const support = { bwrap: true, cgroup: null, detail: 'no cgroup mount' };
    await assert.rejects(runWasm(spec(helloModule('x')), { support }), SandboxUnavailableError);
  });
});
