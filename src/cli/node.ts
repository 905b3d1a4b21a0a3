import { startNodeAgent } from '../agent/node.js';
import { ComputeMdClient } from '../sdk/client.js';
import type { Io } from './commands.js';

/** `computemd node …`: run a node agent, or drain one (issue 6, part 2). */
export interface NodeFlags {
  gateway?: string;
  token?: string;
  name?: string;
  data?: string;
  'price-per-hour'?: string;
  region?: string;
  'heartbeat-s'?: string;
  off?: boolean;
  'no-announce'?: boolean;
}

export async function cmdNode(
  sub: string | undefined,
  f: NodeFlags,
  json: boolean,
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<number> {
  const usage = (m: string) => {
    io.err(`error: ${m}`);
    return 2;
  };
  const gateway = f.gateway ?? env.COMPUTEMD_URL;
  const token = f.token ?? env.COMPUTEMD_TOKEN;
  if (!gateway) return usage('--gateway: the URL of the gateway to join (or COMPUTEMD_URL)');
  if (!token) return usage('--token: a token allowed compute/provide (or COMPUTEMD_TOKEN)');
  if (!f.name || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(f.name))
    return usage('--name: 2–63 lower-case letters, digits and -, e.g. --name lab-box-1');
  if (sub === 'earnings') {
    const client = new ComputeMdClient({ baseUrl: gateway, token });
    const r = await client.get<{
      balance_usd: number;
      transactions: { at: string; kind: string; amount_usd: number; booking_id: string | null }[];
    }>(`/agents/${encodeURIComponent(f.name)}/earnings`);
    if (json) io.out(JSON.stringify(r, null, 2));
    else {
      io.out(`${f.name}: earned $${r.balance_usd.toFixed(2)}`);
      for (const t of r.transactions.slice(0, 10))
        io.out(`  ${t.at}  ${t.kind.padEnd(7)} $${t.amount_usd.toFixed(6)}  ${t.booking_id ?? ''}`);
    }
    return 0;
  }
  if (sub === 'drain') {
    const client = new ComputeMdClient({ baseUrl: gateway, token });
    await client.request('POST', `/agents/${encodeURIComponent(f.name)}/heartbeat`, undefined, {
      draining: !f.off,
    });
    io.out(`${f.name}: ${f.off ? 'taking new work again' : 'draining (no new work; running work finishes)'}`);
    return 0;
  }
  if (sub !== undefined)
    return usage('usage: computemd node [drain [--off] | earnings] --gateway URL --token T --name NAME');
  const price = f['price-per-hour'] === undefined ? 0 : Number(f['price-per-hour']);
  if (!Number.isFinite(price) || price < 0)
    return usage(`--price-per-hour: a number of USD ≥ 0 (got ${f['price-per-hour']})`);
  const hb = f['heartbeat-s'] === undefined ? 10 : Number(f['heartbeat-s']);
  if (!Number.isInteger(hb) || hb < 1 || hb > 3600)
    return usage(`--heartbeat-s: whole seconds from 1 to 3600 (got ${f['heartbeat-s']})`);
  const agent = await startNodeAgent({
    gateway,
    token,
    name: f.name,
    dataDir: f.data ?? '.computemd-node',
    pricePerHour: price,
    ...(f.region ? { region: f.region } : {}),
    heartbeatS: hb,
    announce: !f['no-announce'] && env.COMPUTEMD_NODE_ANNOUNCE !== 'off',
    log: (l) => io.out(l),
  });
  const stop = () => agent.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await agent.done;
  return 0;
}
