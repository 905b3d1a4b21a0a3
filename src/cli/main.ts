import { parseArgs } from 'node:util';
import {
  cmdCatalogRefresh,
  cmdDiscover,
  cmdNodes,
  cmdProviders,
  DISCOVER_FLAGS,
  FILTER_FLAGS,
  type Io,
  queryFrom,
  reportError,
} from './commands.js';
import { connect } from './connect.js';
import { cmdKeyCreate, cmdPrincipal, cmdToken } from './identity.js';
import { cmdLeases } from './leases.js';
import { cmdAccount, cmdBook, cmdBookings, cmdCancel, cmdCredit, cmdLedgerVerify } from './ledger.js';
import { cmdLogs, cmdReceipts } from './logs.js';
import { cmdNode } from './node.js';
import { cmdPlan, PLAN_FLAGS } from './plan.js';

const USAGE = `computemd — one gateway to discover, plan, book and run compute across providers

Usage: computemd <command> [flags]

Commands:
  serve                 run the gateway (default 127.0.0.1:7070)
  nodes                 list offers (GET /nodes)
  discover              options for N reference GPU-hours (GET /discover)
  providers             the provider directory (GET /providers)
  catalog refresh       reload price catalogs (POST /catalog/refresh; operator)
  plan [BODY.json]      a quote across providers (POST /orchestrate; spends nothing): from the file,
                        from flags (--type T --compute-hours H --memory-gb G --max-price-per-hour P …),
                        or both (flags win)
  book                  book compute (POST /book): --plan ID | --offer ID --hours H [--nodes N] | --file BODY.json
  leases [ID]           your leases with progress (time, checkpoints, cost so far); --watch repaints
                        until every lease shown has ended; --booking-id B --state S --interval-s N
  logs ID [-f]          a lease's log; -f follows it until the lease ends; --after SEQ resumes
  receipts verify ID    check a receipt (rc_…, or a lease's) offline against the node's did:key and its
                        checkpoint chain; --node DID pins the signer, --check-outputs hashes the outputs
  bookings              your bookings (GET /bookings)
  cancel ID             cancel a booking (POST /bookings/:id/cancel)
  account               your balance and holds (GET /accounts/me)
  credit ID --amount X  credit a principal's account (operator)
  ledger verify         check every ledger invariant (operator; exit 1 on a violation)
  principal create      a requester or provider and its API key (operator): --role R --name N [--did DID]
  principal list        every principal (operator)
  token create          delegate: a UCAN (--can A, repeatable; --max-spend USD --max-price USD/h
                        --providers a,b --provider-types t --resource-types r --expires 1d --audience DID)
                        or --api-key; --sign-with KEYFILE [--proof UCAN] signs with your own key
  token list            your tokens (operator: everyone's, or --principal ID)
  token revoke ID       revoke a token; a revoked UCAN revokes every token below it
  key create --out FILE a key file (0600) for your own DID: --alg Ed25519|P-256|secp256k1
  node                  join a gateway as a provider: --gateway URL --token T --name NAME
                        [--price-per-hour USD] [--region R] [--data DIR] [--heartbeat-s N]
                        [--no-announce] (else it announces itself on the LAN by DNS-SD)
  node drain [--off]    stop (or resume) new work on a node agent
  node earnings         what a node agent has earned (its provider account)
  mcp                   the MCP server on stdio, for an agent's MCP client (--url, --token as below)

Serve flags:   --port N  --host H  --data DIR  --config FILE  --seed N  --tls-cert FILE  --tls-key FILE
Client flags:  --url URL  --token T  --data DIR  --json
Filter flags:  ${FILTER_FLAGS.map((f) => `--${f}`).join(' ')}
Discover:      ${DISCOVER_FLAGS.map((f) => `--${f}`).join(' ')}
Refresh:       --from URL|DIR  --cloud NAME (repeatable)
Book:          --method M  --stream  --key IDEMPOTENCY_KEY (default: a fresh one)
Plan:          ${PLAN_FLAGS.map((f) => `--${f}`).join(' ')}

Environment: COMPUTEMD_URL, COMPUTEMD_TOKEN, COMPUTEMD_PROOFS, COMPUTEMD_PORT, COMPUTEMD_HOST, COMPUTEMD_DATA, VAST_API_KEY
Exit codes: 0 ok; 1 the gateway refused (its detail is printed), or a receipt or the ledger did not
verify; 2 bad usage (the message names the flag); 3 gateway unreachable; 130 interrupted (Ctrl-C).`;

const stringFlag = { type: 'string' } as const;
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  url: stringFlag,
  token: stringFlag,
  data: stringFlag,
  port: stringFlag,
  host: stringFlag,
  config: stringFlag,
  seed: stringFlag,
  'tls-cert': stringFlag,
  'tls-key': stringFlag,
  from: stringFlag,
  cloud: { type: 'string', multiple: true },
  file: stringFlag,
  plan: stringFlag,
  offer: stringFlag,
  nodes: stringFlag,
  hours: stringFlag,
  method: stringFlag,
  stream: { type: 'boolean' },
  key: stringFlag,
  amount: stringFlag,
  role: stringFlag,
  name: stringFlag,
  did: stringFlag,
  can: { type: 'string', multiple: true },
  'max-spend': stringFlag,
  providers: stringFlag,
  'provider-types': stringFlag,
  'resource-types': stringFlag,
  expires: stringFlag,
  audience: stringFlag,
  label: stringFlag,
  principal: stringFlag,
  'api-key': { type: 'boolean' },
  'sign-with': stringFlag,
  proof: stringFlag,
  out: stringFlag,
  alg: stringFlag,
  gateway: stringFlag,
  'price-per-hour': stringFlag,
  region: stringFlag,
  'heartbeat-s': stringFlag,
  off: { type: 'boolean' },
  'no-announce': { type: 'boolean' },
  'booking-id': stringFlag,
  state: stringFlag,
  watch: { type: 'boolean', short: 'w' },
  'interval-s': stringFlag,
  follow: { type: 'boolean', short: 'f' },
  after: stringFlag,
  node: stringFlag,
  'check-outputs': { type: 'boolean' },
  ...Object.fromEntries([...FILTER_FLAGS, ...DISCOVER_FLAGS, ...PLAN_FLAGS].map((f) => [f, stringFlag])),
} as const;

const defaultIo: Io = { out: (s) => console.log(s), err: (s) => console.error(s) };

/**
 * Resolves on Ctrl-C, for commands that run until stopped (--watch, -f): they stop cleanly, exit 130.
 * Any other command keeps Node's default (Ctrl-C ends it at once), so nothing listens then.
 */
const interrupted = (listen: boolean) =>
  listen
    ? new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
    : new Promise<void>(() => {});

function intFlag(name: string, v: unknown, io: Io): number | undefined | null {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    io.err(`error: --${name}: must be a non-negative integer (got ${JSON.stringify(v)})`);
    return null;
  }
  return n;
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`error: ${(err as Error).message}\nRun \`computemd --help\` for usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, sub] = positionals;
  if (values.help || !cmd) {
    io.out(USAGE);
    return cmd || values.help ? 0 : 2;
  }
  const json = values.json === true;
  const v = values as Record<string, unknown>;
  try {
    switch (cmd) {
      case 'serve': {
        const port = intFlag('port', values.port, io);
        const seed = intFlag('seed', values.seed, io);
        if (port === null || seed === null) return 2;
        const { serve } = await import('../gateway/serve.js');
        return await serve(
          {
            port,
            host: values.host,
            data_dir: values.data,
            config: values.config,
            seed,
            tls_cert: values['tls-cert'],
            tls_key: values['tls-key'],
          },
          io,
        );
      }
      case 'nodes':
        return await cmdNodes(connect(values), queryFrom(v, FILTER_FLAGS), json, io);
      case 'discover':
        return await cmdDiscover(
          connect(values),
          queryFrom(v, [...FILTER_FLAGS, ...DISCOVER_FLAGS]),
          json,
          io,
        );
      case 'providers':
        return await cmdProviders(connect(values), json, io);
      case 'catalog':
        if (sub !== 'refresh') {
          io.err('error: usage: computemd catalog refresh [--from URL|DIR] [--cloud NAME]');
          return 2;
        }
        return await cmdCatalogRefresh(
          connect(values),
          { from: values.from, clouds: values.cloud },
          json,
          io,
        );
      case 'plan':
        return await cmdPlan(connect(values), v, values.file ?? sub, json, io);
      case 'book':
        return await cmdBook(connect(values), values, json, io);
      case 'leases':
        return await cmdLeases(connect(values), sub, values, json, io, {
          tty: process.stdout.isTTY === true && !json,
          now: () => Date.now(),
          sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
          interrupted: interrupted(values.watch === true),
        });
      case 'logs':
        return await cmdLogs(connect(values), sub, values, json, io, interrupted(values.follow === true));
      case 'receipts':
        return await cmdReceipts(connect(values), sub, positionals[2], values, json, io);
      case 'mcp': {
        const { runMcpStdio } = await import('../mcp/stdio.js');
        return await runMcpStdio(connect(values), io.err);
      }
      case 'bookings':
        return await cmdBookings(connect(values), json, io);
      case 'cancel':
        return await cmdCancel(connect(values), sub, json, io);
      case 'account':
        return await cmdAccount(connect(values), json, io);
      case 'credit':
        return await cmdCredit(connect(values), sub, values.amount, values.key, json, io);
      case 'ledger':
        if (sub !== 'verify') {
          io.err('error: usage: computemd ledger verify');
          return 2;
        }
        return await cmdLedgerVerify(connect(values), json, io);
      case 'principal':
        return await cmdPrincipal(connect(values), sub, values, json, io);
      case 'token':
        return await cmdToken(connect(values), sub, positionals[2], values, json, io);
      case 'node':
        return await cmdNode(sub, values, json, process.env, io);
      case 'key':
        if (sub !== 'create') {
          io.err('error: usage: computemd key create --out FILE [--alg Ed25519|P-256|secp256k1]');
          return 2;
        }
        return cmdKeyCreate(values.out, values.alg, json, io);
      default:
        io.err(`error: unknown command "${cmd}". Run \`computemd --help\` for usage.`);
        return 2;
    }
  } catch (err) {
    return reportError(err, io);
  }
}
