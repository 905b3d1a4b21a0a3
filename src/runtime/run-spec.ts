import type { WorkloadManifest } from '../identity/manifest.js';

/**
 * The workload run spec (issue 6, part 1): what a booking asks a provider to run. Three forms.
 *
 * - `command`: an argv run in the node agent's sandbox with a private work dir.
 * - `wasm`: a WASI module run under `node:wasi` inside the same sandbox.
 * - `image`: a container image, passed through to providers that run containers.
 *
 * The forms share `inputs`, `outputs`, `timeout_s`, `resources`, `network` and `checkpoint`.
 *
 * Every input carries its SHA-256. The agent refuses an input whose bytes do not match, so the
 * signed manifest (identity/manifest.ts), which carries the digests, pins exactly what runs.
 * Paths are relative to the work dir and never climb out of it. Bad input is a list of problems,
 * each naming its JSON pointer; nothing here throws on user input.
 */

export interface RunInput {
  /** Relative to the work dir. */
  path: string;
  /** Where the agent fetches it (http/https), or the bytes inline as UTF-8 text. */
  url?: string;
  content?: string;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
}

export interface RunCommon {
  env: Record<string, string>;
  inputs: RunInput[];
  /** Files the agent digests and returns, relative to the work dir. */
  outputs: string[];
  timeout_s: number;
  resources: { cpus: number; memory_gb: number; gpus: number };
  /** Off by default: the sandbox has no network unless the manifest says so. */
  network: boolean;
  checkpoint: { interval_s: number; resumable: boolean };
  /**
   * The run is a server (issue 8): the agent gives it a port in `PORT`, reports the endpoint, and
   * the booking's load balancer (`/lb/:id`) spreads requests over every lease that serves it.
   */
  serve?: { health_check: string };
}

export type RunSpec =
  | ({ kind: 'command'; command: string[] } & RunCommon)
  | ({
      kind: 'wasm';
      wasm: { module: { url?: string; base64?: string; sha256: string }; args: string[] };
    } & RunCommon)
  | ({ kind: 'image'; image: string; command: string[] | null } & RunCommon);

export interface RunProblem {
  param: string;
  detail: string;
}

export const RUN_LIMITS = {
  args: 256,
  argBytes: 4096,
  env: 256,
  inputs: 1000,
  outputs: 100,
  inlineBytes: 1024 * 1024,
  maxTimeoutS: 7 * 86_400,
  defaultTimeoutS: 3600,
  defaultIntervalS: 60,
} as const;

const HEX64 = /^[0-9a-f]{64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A relative path that stays inside the work dir: no leading `/`, no `..`, no empty segment. */
export function safeRelativePath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024 || p.startsWith('/')) return false;
  if (p.includes('\0') || p.includes('\\')) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

const httpUrl = (u: unknown) => {
  if (typeof u !== 'string' || u.length > 2048) return false;
  try {
    const x = new URL(u);
    return x.protocol === 'https:' || x.protocol === 'http:';
  } catch {
    return false;
  }
};

/** Parses `run` (at JSON pointer `at`, default `/run`) into a RunSpec with its defaults filled. */
export function parseRunSpec(
  v: unknown,
  at = '/run',
): { ok: true; value: RunSpec } | { ok: false; problems: RunProblem[] } {
  const problems: RunProblem[] = [];
  const bad = (param: string, detail: string) => problems.push({ param: `${at}${param}`, detail });
  if (!isObj(v)) {
    bad('', 'run must be an object: {command: [...]} or {wasm: {module, args}} or {image}');
    return { ok: false, problems };
  }
  const forms = ['command', 'wasm', 'image'].filter((k) => v[k] !== undefined);
  const known = new Set([
    'command',
    'wasm',
    'image',
    'env',
    'inputs',
    'outputs',
    'timeout_s',
    'resources',
    'network',
    'checkpoint',
    'serve',
  ]);
  for (const k of Object.keys(v))
    if (!known.has(k)) bad(`/${k}`, `unknown field; allowed: ${[...known].join(', ')}`);
  if (
    forms.length === 0 ||
    (forms.length > 1 && !(forms.length === 2 && v.image !== undefined && v.command !== undefined))
  )
    bad('', 'give exactly one of command, wasm or image (an image may also carry command)');

  const argv = (x: unknown, p: string): string[] => {
    if (!Array.isArray(x) || x.length === 0 || x.length > RUN_LIMITS.args) {
      bad(p, `must be a non-empty array of at most ${RUN_LIMITS.args} strings`);
      return [];
    }
    x.forEach((a, i) => {
      if (typeof a !== 'string' || a.length > RUN_LIMITS.argBytes || a.includes('\0'))
        bad(`${p}/${i}`, `must be a string of at most ${RUN_LIMITS.argBytes} characters without NUL`);
    });
    return x.filter((a): a is string => typeof a === 'string');
  };

  const env: Record<string, string> = {};
  if (v.env !== undefined) {
    if (!isObj(v.env) || Object.keys(v.env).length > RUN_LIMITS.env)
      bad('/env', `must be an object of at most ${RUN_LIMITS.env} strings`);
    else
      for (const [k, x] of Object.entries(v.env)) {
        if (!ENV_NAME.test(k)) bad(`/env/${k}`, 'names are letters, digits and _, not starting with a digit');
        else if (typeof x !== 'string' || x.includes('\0')) bad(`/env/${k}`, 'must be a string without NUL');
        else env[k] = x;
      }
  }

  const inputs: RunInput[] = [];
  if (v.inputs !== undefined) {
    if (!Array.isArray(v.inputs) || v.inputs.length > RUN_LIMITS.inputs)
      bad('/inputs', `must be an array of at most ${RUN_LIMITS.inputs}`);
    else {
      const seen = new Set<string>();
      v.inputs.forEach((x, i) => {
        const p = `/inputs/${i}`;
        if (!isObj(x)) {
          bad(p, 'must be {path, url | content, sha256}');
          return;
        }
        for (const k of Object.keys(x))
          if (!['path', 'url', 'content', 'sha256'].includes(k)) bad(`${p}/${k}`, 'unknown field');
        if (!safeRelativePath(x.path))
          bad(`${p}/path`, 'must be a relative path inside the work dir (no leading /, no ..)');
        else if (seen.has(x.path)) bad(`${p}/path`, 'is given twice');
        else seen.add(x.path);
        if ((x.url === undefined) === (x.content === undefined)) bad(p, 'give exactly one of url or content');
        if (x.url !== undefined && !httpUrl(x.url)) bad(`${p}/url`, 'must be an http(s) URL');
        if (
          x.content !== undefined &&
          (typeof x.content !== 'string' || Buffer.byteLength(x.content) > RUN_LIMITS.inlineBytes)
        )
          bad(
            `${p}/content`,
            `must be text of at most ${RUN_LIMITS.inlineBytes} bytes (larger inputs go by url)`,
          );
        if (typeof x.sha256 !== 'string' || !HEX64.test(x.sha256))
          bad(`${p}/sha256`, 'must be 64 lower-case hex characters');
        inputs.push({
          path: String(x.path),
          ...(typeof x.url === 'string' ? { url: x.url } : {}),
          ...(typeof x.content === 'string' ? { content: x.content } : {}),
          sha256: String(x.sha256),
        });
      });
    }
  }

  const outputs: string[] = [];
  if (v.outputs !== undefined) {
    if (!Array.isArray(v.outputs) || v.outputs.length > RUN_LIMITS.outputs)
      bad('/outputs', `must be an array of at most ${RUN_LIMITS.outputs} paths`);
    else
      v.outputs.forEach((o, i) => {
        if (!safeRelativePath(o)) bad(`/outputs/${i}`, 'must be a relative path inside the work dir');
        else outputs.push(o);
      });
  }

  const num = (x: unknown, p: string, min: number, max: number, dflt: number, int = false): number => {
    if (x === undefined) return dflt;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max || (int && !Number.isInteger(x))) {
      bad(p, `must be ${int ? 'a whole number' : 'a number'} from ${min} to ${max}`);
      return dflt;
    }
    return x;
  };
  const timeout_s = num(
    v.timeout_s,
    '/timeout_s',
    1,
    RUN_LIMITS.maxTimeoutS,
    RUN_LIMITS.defaultTimeoutS,
    true,
  );
  const r = v.resources === undefined ? {} : v.resources;
  if (!isObj(r)) bad('/resources', 'must be {cpus?, memory_gb?, gpus?}');
  const ro = isObj(r) ? r : {};
  for (const k of Object.keys(ro))
    if (!['cpus', 'memory_gb', 'gpus'].includes(k)) bad(`/resources/${k}`, 'unknown field');
  const resources = {
    cpus: num(ro.cpus, '/resources/cpus', 0.01, 1024, 1),
    memory_gb: num(ro.memory_gb, '/resources/memory_gb', 0.001, 65_536, 1),
    gpus: num(ro.gpus, '/resources/gpus', 0, 64, 0, true),
  };
  if (v.network !== undefined && typeof v.network !== 'boolean') bad('/network', 'must be true or false');
  const c = v.checkpoint === undefined ? {} : v.checkpoint;
  if (!isObj(c)) bad('/checkpoint', 'must be {interval_s?, resumable?}');
  const co = isObj(c) ? c : {};
  for (const k of Object.keys(co))
    if (!['interval_s', 'resumable'].includes(k)) bad(`/checkpoint/${k}`, 'unknown field');
  if (co.resumable !== undefined && typeof co.resumable !== 'boolean')
    bad('/checkpoint/resumable', 'must be true or false');
  let serve: RunCommon['serve'];
  if (v.serve !== undefined) {
    const sv = v.serve;
    if (!isObj(sv)) bad('/serve', 'must be {health_check?: "/path"}');
    else {
      for (const k of Object.keys(sv)) if (k !== 'health_check') bad(`/serve/${k}`, 'unknown field');
      const hc = sv.health_check ?? '/health';
      if (typeof hc !== 'string' || !/^\/[\x21-\x7e]{0,255}$/.test(hc))
        bad('/serve/health_check', 'must be a path such as /health');
      if (v.network !== true) bad('/network', 'a server must be reachable: give network: true with serve');
      serve = { health_check: String(hc) };
    }
  }
  const common: RunCommon = {
    env,
    inputs,
    outputs,
    timeout_s,
    resources,
    network: v.network === true,
    checkpoint: {
      interval_s: num(co.interval_s, '/checkpoint/interval_s', 1, 86_400, RUN_LIMITS.defaultIntervalS, true),
      resumable: co.resumable === true,
    },
    ...(serve ? { serve } : {}),
  };

  let spec: RunSpec | null = null;
  if (v.image !== undefined) {
    if (typeof v.image !== 'string' || !/^[\w./:@-]{1,512}$/.test(v.image))
      bad('/image', 'must be an image reference such as ghcr.io/org/app:tag');
    spec = {
      kind: 'image',
      image: String(v.image),
      command: v.command === undefined ? null : argv(v.command, '/command'),
      ...common,
    };
  } else if (v.wasm !== undefined) {
    const w = v.wasm;
    if (!isObj(w)) bad('/wasm', 'must be {module: {url | base64, sha256}, args?}');
    const wo = isObj(w) ? w : {};
    const m = isObj(wo.module) ? wo.module : null;
    if (!m) bad('/wasm/module', 'must be {url | base64, sha256}');
    else {
      if ((m.url === undefined) === (m.base64 === undefined))
        bad('/wasm/module', 'give exactly one of url or base64');
      if (m.url !== undefined && !httpUrl(m.url)) bad('/wasm/module/url', 'must be an http(s) URL');
      if (
        m.base64 !== undefined &&
        (typeof m.base64 !== 'string' ||
          !/^[A-Za-z0-9+/]*={0,2}$/.test(m.base64) ||
          m.base64.length > RUN_LIMITS.inlineBytes * 2)
      )
        bad('/wasm/module/base64', 'must be standard base64, at most 2 MiB of text');
      if (typeof m.sha256 !== 'string' || !HEX64.test(m.sha256))
        bad('/wasm/module/sha256', 'must be 64 lower-case hex characters');
    }
    const args =
      wo.args === undefined
        ? []
        : Array.isArray(wo.args) && wo.args.length === 0
          ? []
          : argv(wo.args, '/wasm/args');
    spec = {
      kind: 'wasm',
      wasm: {
        module: {
          ...(typeof m?.url === 'string' ? { url: m.url } : {}),
          ...(typeof m?.base64 === 'string' ? { base64: m.base64 } : {}),
          sha256: String(m?.sha256 ?? ''),
        },
        args,
      },
      ...common,
    };
  } else if (v.command !== undefined) {
    spec = { kind: 'command', command: argv(v.command, '/command'), ...common };
  }
  if (problems.length > 0 || !spec) return { ok: false, problems };
  return { ok: true, value: spec };
}

/**
 * The manifest a requester signs for a run (identity/manifest.ts): the run as given, every input's
 * digest (a wasm module's too), the resources, and who asks.
 */
export function manifestFor(
  run: RunSpec,
  o: { requester: string; iat: number; nonce: string; booking_id?: string },
): WorkloadManifest {
  const inputs = run.inputs.map((i) => ({ path: i.path, sha256: i.sha256 }));
  if (run.kind === 'wasm') inputs.push({ path: 'module.wasm', sha256: run.wasm.module.sha256 });
  const { kind: _kind, ...body } = run;
  return {
    v: 1,
    requester: o.requester,
    run: { kind: run.kind, ...body } as unknown as Record<string, unknown>,
    inputs,
    resources: { cpus: run.resources.cpus, memory_gb: run.resources.memory_gb, gpus: run.resources.gpus },
    ...(o.booking_id ? { booking_id: o.booking_id } : {}),
    iat: o.iat,
    nonce: o.nonce,
  };
}

/** A parsed run back in the form `POST /book` takes (a failover's replacement books it again). */
export function runRequest(run: RunSpec): Record<string, unknown> {
  const { kind: _kind, ...body } = run;
  if (run.kind === 'image' && run.command === null) {
    const { command: _c, ...rest } = body as Record<string, unknown>;
    return rest;
  }
  return body as Record<string, unknown>;
}
