import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { usd } from '../cli/table.js';
import {
  type ComputeMdClient,
  ComputeMdError,
  type LeaseWire,
  TERMINAL_LEASE_STATES,
} from '../sdk/client.js';
import { answer, guarded, refusal, refuse } from './result.js';
import { bookPlanInput, emptyInput, runJobInput } from './schemas.js';
import { bookingText } from './text.js';

/**
 * The tools that spend: book_plan and run_job, and get_balance to see what is left. Each spends
 * only through POST /book with an Idempotency-Key, under the token the server was given: its
 * UCAN caveats (max_spend_usd, max_price_per_hour, providers…) bound every booking here.
 */
export function registerSpendTools(server: McpServer, client: ComputeMdClient, time: Time): void {
  server.registerTool(
    'book_plan',
    {
      title: 'Book a plan (spends)',
      description:
        "Books a plan from plan_workload at its quoted prices: capacity is reserved and the cost held from your account, within your token's spending caveats. Requires plan_id and idempotency_key (reuse the key to retry safely: the same booking comes back). May carry run (what to execute) and payment ({method, stream}).",
      inputSchema: bookPlanInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    ({ plan_id, idempotency_key, payment, run }) =>
      guarded(async () => {
        const b = await client.bookPlan(
          plan_id,
          { ...(payment ? { payment } : {}), ...(run ? { run } : {}) },
          { idempotencyKey: idempotency_key },
        );
        return answer(bookingText(b), b);
      }),
  );

  server.registerTool(
    'run_job',
    {
      title: 'Run a small job (plans, books and runs; spends)',
      description:
        'Plans the workload on providers that can execute `run`, refuses if the cheapest plan costs more than max_cost_usd (nothing is spent then), books it, and waits up to wait_s for the job to finish, returning its state, exit code, log tail and receipt id. max_cost_usd is required.',
      inputSchema: runJobInput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    (args) => guarded(() => runJob(client, args, time)),
  );

  server.registerTool(
    'get_balance',
    {
      title: 'Balance',
      description: 'Your account: balance, funds held for running bookings, and credit limit (USD).',
      inputSchema: emptyInput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    () =>
      guarded(async () => {
        const a = await client.account();
        const free = a.balance_usd - a.held_usd + a.credit_limit_usd;
        return answer(
          `${a.principal}: balance ${usd(a.balance_usd)}, held ${usd(a.held_usd)}, credit limit ${usd(a.credit_limit_usd)}; ${usd(free)} available to book.`,
          { ...a, available_usd: free },
        );
      }),
  );
}

type RunJobArgs = z.infer<typeof runJobInput>;
const RUN_KINDS = ['command', 'wasm', 'image'] as const;

/** How run_job waits: injected, so the server never reads a clock of its own. */
export interface Time {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

async function runJob(client: ComputeMdClient, a: RunJobArgs, time: Time): Promise<CallToolResult> {
  const kind = a.run.wasm ? 'wasm' : a.run.image ? 'image' : a.run.command ? 'command' : null;
  if (kind === null)
    return refuse('run: give command (an argv), wasm or image. Nothing was booked.', { param: '/run' });
  // Only providers that execute this form of run can take it (their features say so, as data).
  const { providers } = await client.providers();
  const constraints = (a.constraints ?? {}) as { providers?: string[]; budget_usd?: number };
  const wanted = constraints.providers;
  const eligible = providers
    .filter((p) => ((p.features as { run_kinds?: string[] }).run_kinds ?? []).includes(kind))
    .map((p) => p.name)
    .filter((n) => !wanted || wanted.includes(n));
  // A spec placeholder in constraints.providers (marketplace_a…) names a type, not a provider that
  // can run this: only names the directory lists survive the filter.
  if (eligible.length === 0)
    return refuse(
      `No provider${wanted ? ` among ${wanted.join(', ')}` : ''} runs ${kind === 'image' ? 'an image' : `a ${kind}`} workload here (${RUN_KINDS.join('/')} forms are declared per provider: node agents run commands and WASM). Nothing was booked.`,
      { param: '/run' },
    );
  const planned = await cheapestWithin(client, a, { ...constraints, providers: eligible });
  if ('refused' in planned) return planned.refused;
  const plan = planned.plan;
  const booking = await client.bookPlan(
    plan.plan_id,
    { run: a.run, ...(a.payment ? { payment: a.payment } : {}) },
    a.idempotency_key ? { idempotencyKey: a.idempotency_key } : {},
  );
  const leases = await waitForLeases(
    client,
    booking.allocations.map((x) => x.lease_id),
    (a.wait_s ?? 20) * 1000,
    time,
  );
  const lines = [bookingText(booking)];
  const tails: Record<string, string[]> = {};
  for (const l of leases) {
    lines.push(
      `${l.id}: ${l.state}${l.exit_code === null ? '' : `, exit ${l.exit_code}`}${l.receipt_id ? `, receipt ${l.receipt_id} (check it with get_receipt)` : ''}`,
    );
    if (TERMINAL_LEASE_STATES.includes(l.state)) {
      const tail = await logTail(client, l.id, 20);
      tails[l.id] = tail;
      if (tail.length > 0) lines.push(...tail.map((t) => `  ${t}`));
    }
  }
  if (leases.some((l) => !TERMINAL_LEASE_STATES.includes(l.state)))
    lines.push('Still running: follow it with get_lease and get_lease_logs.');
  return answer(lines.join('\n'), { plan_id: plan.plan_id, booking, leases, logs: tails });
}

type Plan = Awaited<ReturnType<ComputeMdClient['orchestrate']>>;

/**
 * The plan run_job books: the planner's best under the agent's own constraints if it costs at most
 * max_cost_usd; else, when the agent asked for speed rather than cost, the best within
 * max_cost_usd as a budget. Anything else is a refusal saying what the cheapest plan costs.
 */
async function cheapestWithin(
  client: ComputeMdClient,
  a: RunJobArgs,
  constraints: Record<string, unknown> & { budget_usd?: number; objective?: unknown },
): Promise<{ plan: Plan } | { refused: CallToolResult }> {
  const nothing = `Nothing was booked (max_cost_usd ${usd(a.max_cost_usd)}).`;
  const plan = async (c: Record<string, unknown>): Promise<{ plan: Plan } | { refused: CallToolResult }> => {
    try {
      return { plan: await client.orchestrate({ workload: a.workload, constraints: c }) };
    } catch (err) {
      if (err instanceof ComputeMdError) return { refused: refusal(err, `run_job: ${nothing} `) };
      throw err;
    }
  };
  const first = await plan(constraints);
  if ('refused' in first || first.plan.total_cost_usd <= a.max_cost_usd) return first;
  const byCost = constraints.objective === undefined || constraints.objective === 'cost';
  if (!byCost) {
    const budget = Math.min(constraints.budget_usd ?? Number.POSITIVE_INFINITY, a.max_cost_usd);
    const within = await plan({ ...constraints, budget_usd: budget });
    if ('plan' in within && within.plan.total_cost_usd <= a.max_cost_usd) return within;
  }
  return {
    refused: refuse(
      `run_job: the ${byCost ? 'cheapest' : 'best'} plan (${first.plan.plan_id}) costs ${usd(first.plan.total_cost_usd)}, above max_cost_usd ${usd(a.max_cost_usd)}. ${nothing} Raise max_cost_usd or shrink the job.`,
      {
        plan_id: first.plan.plan_id,
        total_cost_usd: first.plan.total_cost_usd,
        max_cost_usd: a.max_cost_usd,
      },
    ),
  };
}

/** Polls the leases until each has ended or `budgetMs` has passed. */
async function waitForLeases(
  client: ComputeMdClient,
  ids: string[],
  budgetMs: number,
  time: Time,
): Promise<LeaseWire[]> {
  const until = time.now() + budgetMs;
  for (;;) {
    const leases = await Promise.all(ids.map((id) => client.lease(id)));
    if (leases.every((l) => TERMINAL_LEASE_STATES.includes(l.state)) || time.now() >= until) return leases;
    await time.sleep(Math.min(500, Math.max(0, until - time.now())));
  }
}

/** The last `n` log lines of a lease, as `stdout| line`. */
export async function logTail(client: ComputeMdClient, id: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const ev of client.leaseLogs(id)) {
    if (ev.event === 'log') out.push(`${ev.stream}| ${ev.line}`);
    if (out.length > n) out.shift();
  }
  return out;
}
