import type { Io } from '../cli/commands.js';
import { ConfigError, type ConfigFlags, loadConfig } from '../config/load.js';
import { createGateway } from './compose.js';

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
  const url = typeof addr === 'object' && addr ? `http://${host}:${addr.port}` : `http://${host}:${port}`;
  if (gw.operatorCreated)
    io.out(`computemd: created the operator; admin token written to ${gw.adminTokenPath} (mode 0600)`);
  const offers = gw.market.snapshot().n;
  io.out(
    `computemd: serving ${offers} offers from ${gw.providers.length} providers on ${url} (docs: ${url}/docs)`,
  );
  return done;
}
