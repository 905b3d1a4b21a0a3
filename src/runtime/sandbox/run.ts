import { launchSandbox } from './launch.js';
import { probeSandbox } from './probe.js';
import { launchRlimits } from './rlimits.js';
import { type RunningSandbox, type RunOptions, type SandboxSpec, SandboxUnavailableError } from './types.js';

/**
 * Starts `spec.command` isolated and resolves once it is running inside its limits. Rejects with
 * SandboxUnavailableError when mode is 'sandbox' (the default) and the host lacks bwrap or a
 * writable cgroup; with RangeError for limits that are not positive. How the run ended is in
 * `result`, which never rejects.
 */
export async function runSandboxed(spec: SandboxSpec, o: RunOptions = {}): Promise<RunningSandbox> {
  if ((o.mode ?? 'sandbox') === 'rlimits') {
    return launchRlimits(
      { command: spec.command, env: spec.env, workDir: spec.workDir, limits: spec.limits },
      o,
    );
  }
  const support = o.support ?? (await probeSandbox());
  if (!support.bwrap || support.cgroup === null) throw new SandboxUnavailableError(support);
  return launchSandbox(spec, o);
}
