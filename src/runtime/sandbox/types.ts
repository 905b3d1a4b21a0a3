/**
 * The sandbox's contract: what a caller asks for, what it gets back, and the one error it can
 * see. The decisions behind it are in index.ts.
 */

export interface SandboxLimits {
  /** Hard memory cap for the whole process tree, page cache and /tmp (tmpfs) included; no swap. */
  memoryBytes: number;
  /** CPU quota in cores; fractional is fine (0.5 = half of one core per period). */
  cpus: number;
  /** Processes and threads the workload may hold at once (bwrap's own two are added on top). */
  pids: number;
  timeoutMs: number;
}

export interface SandboxSpec {
  /** argv inside the sandbox; argv[0] is looked up on the sandbox's PATH (from `env`). */
  command: string[];
  /** The whole environment of the command (bwrap adds only PWD=/work): nothing of the agent's leaks in. */
  env: Record<string, string>;
  /** Host directory, which must exist; bound read-write at /work, the command's cwd. */
  workDir: string;
  /** false: a fresh network namespace with only its own loopback. */
  network: boolean;
  limits: SandboxLimits;
}

export interface SandboxUsage {
  cpuSeconds: number;
  peakMemoryBytes: number;
}

/**
 * How a run ended. `exited`: the command ended by itself (`exitCode`, or `signal` when it died
 * of one). The others name what ended it: the time limit, the memory cap (an OOM kill anywhere in
 * the tree ends the whole run), the process cap (reaching pids.max ends the run: a tree that hits
 * it is a fork bomb or broken, and would otherwise burn its CPU until the timeout), or `kill()` /
 * the caller's AbortSignal.
 */
export type SandboxEndReason = 'exited' | 'timeout' | 'memory' | 'pids' | 'killed';

export interface SandboxResult extends SandboxUsage {
  /** null when the command died of a signal. */
  exitCode: number | null;
  /** e.g. 'SIGKILL'. bwrap reports a command's death by signal N as status 128+N, and that is
   * read back as the signal, as a shell would: a command that itself exits 137 reads as SIGKILL. */
  signal: string | null;
  reason: SandboxEndReason;
  wallMs: number;
  mode: IsolationMode;
}

export interface SandboxSupport {
  bwrap: boolean;
  cgroup: 'v1' | 'v2' | null;
  /** What was found and, when something is missing, why. */
  detail: string;
}

/**
 * 'sandbox': bwrap + cgroup, the only mode that isolates. 'rlimits': for hosts without either,
 * only when the operator opted in: the command runs on the host as the agent's user, under
 * setrlimit limits set by `ulimit` in a shell wrapper. The running handle lists what it lacks.
 */
export type IsolationMode = 'sandbox' | 'rlimits';

export interface RunningSandbox {
  /** Host pid of the outermost process (bwrap, or the rlimits shell). */
  pid: number;
  mode: IsolationMode;
  /** What this mode does not enforce; empty for 'sandbox'. */
  gaps: string[];
  /** Live usage: from the cgroup in 'sandbox' mode, sampled from /proc in 'rlimits'. */
  usage(): SandboxUsage;
  /** Ends the run (reason 'killed' unless it had already ended otherwise). Idempotent. */
  kill(): void;
  /** Resolves once everything the run started is gone and its cgroup removed; never rejects. */
  result: Promise<SandboxResult>;
}

export interface RunOptions {
  /** Default 'sandbox'. */
  mode?: IsolationMode;
  onStdout?: (b: Buffer) => void;
  onStderr?: (b: Buffer) => void;
  /** Aborting it kills the run (reason 'killed'). */
  signal?: AbortSignal;
  /** From probeSandbox(), probed once by the caller; probed here when absent. */
  support?: SandboxSupport;
}

/** Thrown by runSandboxed/runWasm in mode 'sandbox' when the host cannot sandbox. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
  readonly missing: Array<'bwrap' | 'cgroup'>;
  readonly support: SandboxSupport;
  constructor(support: SandboxSupport) {
    const missing: Array<'bwrap' | 'cgroup'> = [];
    if (!support.bwrap) missing.push('bwrap');
    if (support.cgroup === null) missing.push('cgroup');
    super(
      `cannot sandbox on this host: no working ${missing.join(' and no writable ')} (${support.detail}). ` +
        'To fix: install bubblewrap and run the agent where it may create cgroups (as root, or in a ' +
        "delegated cgroup), or opt in to weaker isolation with isolation mode 'rlimits'.",
    );
    this.missing = missing;
    this.support = support;
  }
}
