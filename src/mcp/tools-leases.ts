import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ComputeMdClient } from '../sdk/client.js';
import { verifyLeaseReceipt } from '../sdk/verify.js';
import { answer, guarded, refuse } from './result.js';
import { cancelLeaseInput, leaseIdInput, leaseLogsInput, receiptInput } from './schemas.js';
import { leaseText } from './text.js';
import { logTail } from './tools-spend.js';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** get_lease, get_lease_logs, cancel_lease, get_receipt: watching, stopping and checking work. */
export function registerLeaseTools(server: McpServer, client: ComputeMdClient): void {
  server.registerTool(
    'get_lease',
    {
      title: 'Lease state',
      description:
        'A lease: its state (pending, provisioning, running, completed, failed, preempted, cancelled), when it started and ended, checkpoints so far, cost and what has been paid, exit code, outputs and receipt id, and its state history.',
      inputSchema: leaseIdInput,
      annotations: READ,
    },
    ({ lease_id }) =>
      guarded(async () => {
        const l = await client.lease(lease_id);
        return answer(leaseText(l), l);
      }),
  );

  server.registerTool(
    'get_lease_logs',
    {
      title: 'Lease logs',
      description: 'The log lines a lease has written so far (stdout and stderr), the last `tail` of them.',
      inputSchema: leaseLogsInput,
      annotations: READ,
    },
    ({ lease_id, tail }) =>
      guarded(async () => {
        const lines = await logTail(client, lease_id, tail ?? 100);
        return answer(lines.length ? lines.join('\n') : `(${lease_id} has logged nothing yet)`, {
          lease_id,
          lines,
        });
      }),
  );

  server.registerTool(
    'cancel_lease',
    {
      title: 'Cancel a lease',
      description:
        'Stops a lease: the work ends, its node is paid only for verified work so far, the rest of the hold is released. Cancelling a cancelled lease again changes nothing.',
      inputSchema: cancelLeaseInput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    ({ lease_id, idempotency_key }) =>
      guarded(async () => {
        const l = await client.cancelLease(
          lease_id,
          idempotency_key ? { idempotencyKey: idempotency_key } : {},
        );
        return answer(leaseText(l), l);
      }),
  );

  server.registerTool(
    'get_receipt',
    {
      title: 'Receipt, verified',
      description:
        "A lease's receipt (by receipt_id or lease_id), verified here against the node's did:key and the lease's signed checkpoint chain, so the gateway need not be trusted: the result says whether it verifies, who signed it, the exit status and usage. check_outputs also hashes each output against the receipt.",
      inputSchema: receiptInput,
      annotations: READ,
    },
    ({ receipt_id, lease_id, check_outputs }) =>
      guarded(async () => {
        const id = receipt_id ?? lease_id;
        if (!id) return refuse('Give receipt_id (rc_…) or lease_id (ls_…).', { param: 'receipt_id' });
        const r = await verifyLeaseReceipt(client, id, { outputs: check_outputs === true });
        if (!r.ok || !r.receipt)
          return answer(
            `Receipt ${r.receipt_id} for ${r.lease_id} does NOT verify (${r.error?.code}): ${r.error?.detail}`,
            { verified: false, ...r },
          );
        const rc = r.receipt;
        const outs = rc.outputs
          .map((o) => `${o.name} sha256:${o.sha256.slice(0, 16)}… ${o.bytes} B`)
          .join(', ');
        return answer(
          [
            `Receipt ${r.receipt_id} verifies: signed by ${r.node} for lease ${r.lease_id}, ${r.checkpoints} checkpoints chained.`,
            `Exit ${rc.exit_status.code ?? rc.exit_status.signal ?? '-'} (${rc.exit_status.reason}); wall ${rc.usage.wall_s} s, cpu ${rc.usage.cpu_seconds} s, peak memory ${rc.usage.peak_memory_bytes} B.`,
            `Outputs: ${outs || 'none'}${check_outputs ? ` (hashed here: ${r.outputs_checked.join(', ') || 'none'})` : ''}.`,
          ].join('\n'),
          { verified: true, ...r },
        );
      }),
  );
}
