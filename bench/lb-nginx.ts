import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * nginx as the baseline reverse proxy: the same upstreams, least_conn, keep-alive both ways, the
 * same header work as the gateway's balancer (request id generated when absent, X-Forwarded-*,
 * Authorization checked and not forwarded), bodies streamed both ways, retries of failed tries on
 * the next upstream. One worker process, a temp prefix and config; never the system service.
 */

export interface Nginx {
  url: string;
  /** The worker's pid (where the proxying CPU goes). */
  workerPid: number;
  version: string;
  stop(): Promise<void>;
}

export function nginxBinary(): string | null {
  for (const p of [
    '/usr/sbin/nginx',
    '/usr/bin/nginx',
    '/usr/local/sbin/nginx',
    '/usr/local/nginx/sbin/nginx',
  ]) {
    const r = spawnSync(p, ['-v'], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return null;
}

export function nginxConf(o: { prefix: string; port: number; upstreamPorts: number[]; key: string }): string {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return `${asRoot ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${o.prefix}/nginx.pid;
error_log ${o.prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${o.prefix}/body;
  proxy_temp_path ${o.prefix}/proxy;
  fastcgi_temp_path ${o.prefix}/fastcgi;
  uwsgi_temp_path ${o.prefix}/uwsgi;
  scgi_temp_path ${o.prefix}/scgi;
  keepalive_timeout 72s;
  keepalive_requests 1000000;
  map_hash_bucket_size 256;
  map $http_x_request_id $reqid { default $http_x_request_id; "" $request_id; }
  map $http_authorization $authorized { default 0; "Bearer ${o.key}" 1; }
  upstream fleet {
    least_conn;
${o.upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=2s;`).join('\n')}
    keepalive 128;
    keepalive_requests 1000000;
    keepalive_timeout 30s;
  }
  server {
    listen 127.0.0.1:${o.port};
    location /lb/fleet/ {
      if ($authorized = 0) { return 404; }
      proxy_pass http://fleet/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "";
      proxy_set_header X-Request-Id $reqid;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      add_header X-Request-Id $reqid always;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
      proxy_read_timeout 300s;
    }
  }
}
`;
}

/** The pid of the worker nginx's master forked (a child process of it). */
function workerOf(master: number): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === master) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Starts nginx under `prefix` (e.g. `taskset -c 0`); null when no nginx binary is installed. */
export async function startNginx(
  port: number,
  upstreamPorts: number[],
  key: string,
  prefix: string[] = [],
): Promise<Nginx | null> {
  const bin = nginxBinary();
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), 'computemd-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf({ prefix: dir, port, upstreamPorts, key }));
  const version = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim();
  const argv = [...prefix, bin, '-p', dir, '-c', conf];
  const proc: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  let workerPid: number | null = null;
  for (let i = 0; i < 400 && workerPid === null; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}; see ${dir}/error.log`);
    try {
      const r = await fetch(`${url}/`);
      await r.arrayBuffer();
      workerPid = proc.pid === undefined ? null : workerOf(proc.pid);
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  if (workerPid === null) throw new Error('nginx did not start');
  return {
    url,
    workerPid,
    version,
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGQUIT');
      }),
  };
}
