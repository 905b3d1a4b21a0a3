import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitOf } from './supervise.js';

describe('exitOf', () => {
  // bwrap and sh report a death by signal N as status 128+N.
  const cases: Array<[number | null, string | null, number | null, string | null]> = [
    [0, null, 0, null],
    [1, null, 1, null],
    [128, null, 128, null], // 128+0 names no signal
    [137, null, null, 'SIGKILL'], // 128+9
    [143, null, null, 'SIGTERM'], // 128+15
    [255, null, 255, null], // 128+127: no such signal
    [null, 'SIGKILL', null, 'SIGKILL'], // the outer process itself was killed
  ];
  for (const [code, signal, exitCode, sig] of cases) {
    it(`${code}/${signal} → ${exitCode}/${sig}`, () =>
      assert.deepEqual(exitOf(code, signal), { exitCode, signal: sig }));
  }
});
