import type { ComputeMdClient } from '../sdk/client.js';
import { verifyLeaseReceipt } from '../sdk/verify.js';
import type { Io } from './commands.js';

/** `computemd logs LEASE [-f]` and `computemd receipts verify ID`. */

/**
 * Prints a lease's log: stdout lines on stdout, stderr and system lines on stderr, state changes
 * on stderr as `-- state: reason`. With `follow` it waits for new lines until the lease ends.
 * `--json`: one event per line on stdout. Exit 0 once the stream ends (whatever the lease's end).
 */
export async function cmdLogs(
  client: ComputeMdClient,
  id: string | undefined,
  f: { follow?: boolean; after?: string },
  json: boolean,
  io: Io,
  interrupted: Promise<void>,
): Promise<number> {
  if (!id) {
    io.err('error: usage: computemd logs LEASE_ID [-f] [--after SEQ]');
    return 2;
  }
  if (f.after !== undefined && !/^\d+$/.test(f.after)) {
    io.err(`error: --after: a log seq, a whole number (got ${f.after})`);
    return 2;
  }
  const ac = new AbortController();
  let stopped = false;
  void interrupted.then(() => {
    stopped = true;
    ac.abort();
  });
  try {
    for await (const ev of client.leaseLogs(id, {
      follow: f.follow === true,
      ...(f.after !== undefined ? { after: Number(f.after) } : {}),
      signal: ac.signal,
    })) {
      if (json) io.out(JSON.stringify(ev));
      else if (ev.event === 'log') (ev.stream === 'stdout' ? io.out : io.err)(ev.line);
      else if (ev.event === 'state') io.err(`-- ${ev.state}: ${ev.reason}`);
      else io.err(`-- ended: ${ev.state}`);
    }
  } catch (err) {
    if (stopped) return 130;
    throw err;
  }
  return stopped ? 130 : 0;
}

/**
 * Verifies a receipt offline (sdk/verify.ts): exit 0 when it verifies, 1 when it does not, with
 * what failed. `--node DID` pins the signer you expect; `--check-outputs` hashes each output.
 */
export async function cmdReceipts(
  client: ComputeMdClient,
  sub: string | undefined,
  id: string | undefined,
  f: { node?: string; 'check-outputs'?: boolean },
  json: boolean,
  io: Io,
): Promise<number> {
  if (sub !== 'verify' || !id) {
    io.err('error: usage: computemd receipts verify RECEIPT_ID|LEASE_ID [--node DID] [--check-outputs]');
    return 2;
  }
  if (f.node !== undefined && !/^did:[a-z0-9]+:\S+$/.test(f.node)) {
    io.err(`error: --node: must be a DID, e.g. did:key:z6Mk… (got ${f.node})`);
    return 2;
  }
  const r = await verifyLeaseReceipt(client, id, {
    ...(f.node ? { node: f.node } : {}),
    outputs: f['check-outputs'] === true,
  });
  if (json) {
    io.out(JSON.stringify({ verified: r.ok, ...r }, null, 2));
    return r.ok ? 0 : 1;
  }
  if (!r.ok || !r.receipt) {
    io.out(`receipt ${r.receipt_id} (lease ${r.lease_id}): NOT verified`);
    io.err(`error: ${r.error?.code}: ${r.error?.detail}`);
    return 1;
  }
  const rc = r.receipt;
  io.out(`receipt ${r.receipt_id} verified offline`);
  io.out(`  signed by  ${r.node}${f.node ? ' (as expected)' : ''}`);
  io.out(`  lease      ${r.lease_id}, booking ${rc.booking_id}`);
  io.out(`  chain      ${r.checkpoints} checkpoints, head ${rc.checkpoint_head ?? '-'}`);
  io.out(
    `  exit       ${rc.exit_status.code ?? rc.exit_status.signal ?? '-'} (${rc.exit_status.reason}) at ${new Date(rc.completed_at * 1000).toISOString()}`,
  );
  io.out(
    `  usage      wall ${rc.usage.wall_s} s, cpu ${rc.usage.cpu_seconds} s, peak ${rc.usage.peak_memory_bytes} B`,
  );
  for (const o of rc.outputs)
    io.out(
      `  output     ${o.name} ${o.bytes} B sha256 ${o.sha256}${r.outputs_checked.includes(o.name) ? ' (hashed: matches)' : ''}`,
    );
  return 0;
}
