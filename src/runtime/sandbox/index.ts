/**
 * The node agent's sandbox (issue 6, part 3): untrusted commands and WASI modules run under
 * bubblewrap inside a cgroup of their own. Decisions:
 *
 * - bwrap, not a container runtime: one small setuid-free binary, user namespaces do the rest, and
 *   every mount is spelled out in bwrap.ts. The sandbox sees read-only system dirs, a few /etc
 *   files, fresh /proc, /dev, /tmp, and the work dir at /work; no network unless asked for.
 * - One cgroup per run (cgroup.ts), v1 or v2, joined before anything runs: a tiny sh writes its own
 *   pid into cgroup.procs, then execs bwrap (launch.ts says why this is race-free). The cgroup caps
 *   memory (no swap), CPU (CFS quota) and pids, and is where usage comes from: it sees every
 *   descendant, which polling /proc would not. pids.max is the caller's plus 3 of ours.
 * - A run dies with the agent, even one killed while the run starts: a watchdog holds a socket
 *   only the agent has the other end of (wrapper.ts), since bwrap's --die-with-parent has a window.
 *   The probe removes the empty cgroups dead agents left behind.
 * - Hitting a limit is an outcome, not an error: `result.reason` says 'memory' (an OOM kill ends
 *   the whole run), 'pids' (reaching pids.max ends it), 'timeout' or 'killed'. Only a host that
 *   cannot sandbox throws (SandboxUnavailableError, with what is missing and how to opt out).
 * - Without bwrap or cgroups, mode 'rlimits' runs on the host under ulimit limits, only when the
 *   operator opts in, and the handle lists what it does not enforce (rlimits.ts).
 * - WASM runs node:wasi in a worker process inside the same sandbox (wasm.ts): node:wasi alone
 *   does not isolate.
 * - Known gaps: no disk quota on /work, no seccomp filter (the kernel's namespaces and dropped
 *   capabilities are the boundary), and /proc shows host-wide figures such as /proc/meminfo.
 */
export { probeSandbox } from './probe.js';
export { runSandboxed } from './run.js';
export type {
  IsolationMode,
  RunningSandbox,
  RunOptions,
  SandboxEndReason,
  SandboxLimits,
  SandboxResult,
  SandboxSpec,
  SandboxSupport,
  SandboxUsage,
} from './types.js';
export { SandboxUnavailableError } from './types.js';
export { runWasm, WASM_RUNTIME_BYTES, type WasmSpec } from './wasm.js';
