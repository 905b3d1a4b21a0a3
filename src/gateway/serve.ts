import { isIP } from 'node:net';
import type { Io } from '../cli/commands.js';
import { ConfigError, type ConfigFlags, loadConfig } from '../config/load.js';
import { createGateway } from './compose.js';

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped or bracketed address) and localhost never leave the machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** `computemd serve`: load config, build the gateway, listen, and stop cleanly on SIGINT/SIGTERM. */
export async function serve(flags: ConfigFlags, io: Io): Promise<number> {
  let gw: Awaited<ReturnType<typeof createGateway>>;
  try {
    gw = await createGateway(loadConfig(flags));
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
  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
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
  const offers = gw.market.snapshot().n;
  io.out(
    `computemd: serving ${offers} offers from ${gw.providers.length} providers on ${url} (docs: ${url}/docs)`,
  );
  return done;
}
