/**
 * WASI modules. node:wasi is not a sandbox (node's own docs say so: the host process is fully
 * trusted and a module can e.g. exhaust it), so the module runs in a node worker process that is
 * itself inside the same bwrap sandbox and cgroup as a command. The module travels on fd 5 (no temp
 * file, nothing added to the work dir); the worker file is bound read-only at
 * /sandbox/wasm-worker.mjs, and node's install too when it lives outside /usr.
 *
 * Memory, twice: the guest's linear memory is capped by V8 (`--wasm-max-mem-pages`: memory.grow
 * past it returns -1, a module declaring more fails to instantiate), and the cgroup caps the
 * whole worker at memoryBytes + WASM_RUNTIME_BYTES, the allowance for node itself. Time: the
 * timeout kills the worker, the only way to stop a guest in a loop.
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchSandbox } from './launch.js';
import { probeSandbox } from './probe.js';
import { launchRlimits } from './rlimits.js';
import { type RunningSandbox, type RunOptions, SandboxUnavailableError } from './types.js';

export interface WasmSpec {
  module: Uint8Array;
  args: string[];
  env: Record<string, string>;
  workDir: string;
  limits: {
    /** Cap on the guest's linear memory. */
    memoryBytes: number;
    timeoutMs: number;
    /** Default 1. */
    cpus?: number;
    /** Default 32: node's own threads count against it. */
    pids?: number;
  };
}

/** node's own footprint in the worker (heap capped at 64 MiB by the flags below), on top of the guest's. */
export const WASM_RUNTIME_BYTES = 160 * 1024 * 1024;
const WASM_PAGE = 65_536;
const WORKER_IN_SANDBOX = '/sandbox/wasm-worker.mjs';

/** The payload on fd 5: length, JSON header, module. */
export function wasmPayload(spec: WasmSpec, preopen: string): Buffer {
  const header = Buffer.from(JSON.stringify({ args: spec.args, env: spec.env, preopen }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([len, header, spec.module]);
}

function nodeFlags(memoryBytes: number): string[] {
  return [
    '--no-warnings',
    `--wasm-max-mem-pages=${Math.max(1, Math.floor(memoryBytes / WASM_PAGE))}`,
    '--max-old-space-size=64',
    '--v8-pool-size=1',
  ];
}

export async function runWasm(spec: WasmSpec, o: RunOptions = {}): Promise<RunningSandbox> {
  const worker = fileURLToPath(new URL('./wasm-worker.js', import.meta.url));
  const node = realpathSync(process.execPath);
  const limits = {
    memoryBytes: spec.limits.memoryBytes + WASM_RUNTIME_BYTES,
    cpus: spec.limits.cpus ?? 1,
    pids: spec.limits.pids ?? 32,
    timeoutMs: spec.limits.timeoutMs,
  };
  const flags = nodeFlags(spec.limits.memoryBytes);
  if ((o.mode ?? 'sandbox') === 'rlimits') {
    return launchRlimits(
      {
        command: [node, ...flags, worker],
        env: {},
        workDir: spec.workDir,
        limits,
        fd5: wasmPayload(spec, spec.workDir),
      },
      o,
      false,
    );
  }
  const support = o.support ?? (await probeSandbox());
  if (!support.bwrap || support.cgroup === null) throw new SandboxUnavailableError(support);
  // A node outside /usr (nvm, a tarball in /opt): its install, read-only, at the same path.
  const roBinds = [{ src: worker, dest: WORKER_IN_SANDBOX }];
  if (!node.startsWith('/usr/')) {
    const prefix = dirname(dirname(node));
    roBinds.push({ src: prefix, dest: prefix });
  }
  return launchSandbox(
    {
      command: [node, ...flags, WORKER_IN_SANDBOX],
      env: {},
      workDir: spec.workDir,
      network: false,
      limits,
      roBinds,
      fd5: wasmPayload(spec, '/work'),
    },
    o,
  );
}
