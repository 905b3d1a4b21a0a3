import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { problem } from '../protocol/problem.js';
import { sendProblem } from './problems.js';

export interface RateLimitConfig {
  /** Anonymous requests per client IP per window. */
  per_ip: number;
  /** Requests per authenticated principal per window, independent of the IPs they come from. */
  per_principal: number;
  window_ms: number;
  enabled: boolean;
}

/** One bucket per principal, else one per client address (an IPv6 client's /64, as the plugin does). */
function bucket(req: FastifyRequest): string {
  return req.principal ? `principal:${req.principal.id}` : `ip:${normalizeIP(req.ip)}`;
}

/**
 * Fixed-window request limits (@fastify/rate-limit, in-process store). The hook is added after
 * installAuth's, so it runs after it in onRequest: `req.principal` is already known, and a request
 * is limited before its body is read. Requests the auth hook refuses (401) end there and are not
 * counted. The operator is never limited; absent or disabled config installs nothing.
 */
export async function installRateLimit(
  app: FastifyInstance,
  cfg: RateLimitConfig | null | undefined,
): Promise<void> {
  if (!cfg?.enabled) return;
  await app.register(rateLimit, { global: false });
  const limit = app.createRateLimit({
    timeWindow: cfg.window_ms,
    keyGenerator: bucket,
    max: (req) => (req.principal ? cfg.per_principal : cfg.per_ip),
    allowList: (req) => req.principal?.role === 'operator',
  });
  const windowS = Math.ceil(cfg.window_ms / 1000);
  app.addHook('onRequest', async (req, reply) => {
    const r = await limit(req);
    if (r.isAllowed) return;
    reply
      .header('x-ratelimit-limit', r.max)
      .header('x-ratelimit-remaining', r.remaining)
      .header('x-ratelimit-reset', r.ttlInSeconds);
    if (!r.isExceeded) return;
    const who = req.principal ? `principal ${req.principal.id}` : `address ${req.ip}`;
    const fix = req.principal
      ? 'slow down'
      : 'slow down, or authenticate: a principal has its own, larger budget';
    return sendProblem(
      reply.header('retry-after', r.ttlInSeconds),
      problem(
        'rate-limited',
        `More than ${r.max} requests in ${windowS} s from ${who}. Retry after ${r.ttlInSeconds} s; ${fix}.`,
      ),
    );
  });
}

/** Failed authentications (401) one client address may cause per window before it is refused. */
export const AUTH_FAILURES_PER_WINDOW = 60;

/**
 * Throttles token guessing: requests the auth hook refuses are not counted by the limiter above
 * (they end before it), so failed authentications are counted here, per client address, after the
 * reply. Past `AUTH_FAILURES_PER_WINDOW` in a window the address gets 429 with Retry-After before
 * its next credential is even looked at. Install it before `installAuth`.
 */
export function installAuthFailureLimit(app: FastifyInstance, cfg: RateLimitConfig | null | undefined): void {
  if (!cfg?.enabled) return;
  const failures = new Map<string, { n: number; reset: number }>();
  app.addHook('onRequest', async (req, reply) => {
    const e = failures.get(normalizeIP(req.ip));
    const now = Date.now();
    if (!e || e.reset <= now || e.n < AUTH_FAILURES_PER_WINDOW) return;
    const retry = Math.ceil((e.reset - now) / 1000);
    return sendProblem(
      reply.header('retry-after', retry),
      problem(
        'rate-limited',
        `${e.n} failed authentications from address ${req.ip} in this window. Retry after ${retry} s with a valid token.`,
      ),
    );
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode !== 401) return;
    const k = normalizeIP(req.ip);
    const now = Date.now();
    const e = failures.get(k);
    if (!e || e.reset <= now) {
      // Bounded memory: expired windows go first, and a flood of addresses cannot grow it forever.
      if (failures.size >= 100_000)
        for (const [key, v] of failures) if (v.reset <= now || failures.size >= 100_000) failures.delete(key);
      failures.set(k, { n: 1, reset: now + cfg.window_ms });
    } else e.n++;
  });
}
