import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { type NodeAgent, startNodeAgent } from '../agent/node.js';
import type { Io } from '../cli/commands.js';
import { ConfigError, type ConfigFlags, loadConfig } from '../config/load.js';
import { LOCAL_PROVIDER_NAME } from '../providers/local/index.js';
import { createGateway } from './compose.js';

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped or bracketed address) and localhost never leave the machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** A fetch that trusts only `certPem` (the gateway's own certificate) and skips the name check. */
function pinnedFetch(certPem: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: certPem, checkServerIdentity: () => undefined } });
  return ((url: string | URL | Request, init?: RequestInit) =>
    undiciFetch(url as string, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

/** `computemd serve`: load config, build the gateway, listen, and stop cleanly on SIGINT/SIGTERM. */
export async function serve(flags: ConfigFlags, io: Io): Promise<number> {
  let gw: Awaited<ReturnType<typeof createGateway>>;
  let localAgent = false;
  try {
    const config = loadConfig(flags);
    // This host runs work as an in-process node agent named `local`, in place of the listing-only
    // local provider (it registers once the gateway listens).
    localAgent = config.providers.local.enabled && config.providers.local.agent;
    if (localAgent) config.providers.local.enabled = false;
    gw = await createGateway(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const { host, port } = gw.config;
  // Handle SIGINT/SIGTERM before saying we are serving: whoever reads that line (a supervisor, a
  // test) may signal at once, and a signal with no handler yet would kill the process uncleanly.
  let stopped: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    stopped = resolve;
  });
  let agent: NodeAgent | null = null;
  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    agent?.stop();
    gw.close().then(
      () => stopped(0),
      () => stopped(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await gw.app.listen({ host, port });
  } catch (err) {
    io.err(
      `error: cannot listen on ${host}:${port}: ${(err as Error).message}. Set --port or COMPUTEMD_PORT.`,
    );
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await gw.close();
    return 1;
  }
  const addr = gw.app.server.address();
  const scheme = gw.config.tls ? 'https' : 'http';
  const url = `${scheme}://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
  if (!gw.config.tls && !isLoopback(host))
    io.err(
      `warning: serving plain HTTP on ${host}: bearer tokens would cross the network in clear text. To fix: give --tls-cert FILE and --tls-key FILE (or COMPUTEMD_TLS_CERT and COMPUTEMD_TLS_KEY), or bind 127.0.0.1 behind a TLS-terminating proxy.`,
    );
  if (gw.operatorCreated)
    io.out(`computemd: created the operator; admin token written to ${gw.adminTokenPath} (mode 0600)`);
  if (localAgent) {
    const loop = `${scheme}://${isLoopback(host) || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${typeof addr === 'object' && addr ? addr.port : port}`;
    // Awaited (it measures the host first), so "serving" means this host takes work too.
    await startNodeAgent({
      gateway: loop,
      token: readFileSync(gw.adminTokenPath, 'utf8').trim(),
      name: LOCAL_PROVIDER_NAME,
      dataDir: join(gw.config.data_dir, 'node'),
      pricePerHour: gw.config.providers.local.price_per_hour,
      announce: false,
      log: (line) => io.out(line),
      // Over TLS the agent trusts exactly the gateway's own certificate, whatever names it carries.
      ...(gw.config.tls ? { fetch: pinnedFetch(gw.config.tls.cert) } : {}),
    }).then(
      (a) => {
        agent = a;
      },
      (err) => io.err(`warning: the local node agent did not start: ${(err as Error).message}`),
    );
  }
  const offers = gw.market.snapshot().n;
  io.out(
    `computemd: serving ${offers} offers from ${gw.providers.length} providers on ${url} (docs: ${url}/docs)`,
  );
  return done;
}
