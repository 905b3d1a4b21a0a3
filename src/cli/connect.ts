import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ComputeMdClient } from '../sdk/client.js';

export interface ConnectFlags {
  url?: string;
  token?: string;
  data?: string;
}

/**
 * Where the CLI finds its gateway and token: flags, then the environment (COMPUTEMD_URL,
 * COMPUTEMD_TOKEN), then the local data dir's admin token (COMPUTEMD_DATA or ./.computemd). A UCAN
 * signed away from the gateway travels with its proofs: COMPUTEMD_PROOFS (comma-separated JWTs).
 */
export function connect(flags: ConnectFlags, env: NodeJS.ProcessEnv = process.env): ComputeMdClient {
  const host = env.COMPUTEMD_HOST ?? '127.0.0.1';
  const port = env.COMPUTEMD_PORT ?? '7070';
  const baseUrl = flags.url ?? env.COMPUTEMD_URL ?? `http://${host}:${port}`;
  let token = flags.token ?? env.COMPUTEMD_TOKEN;
  if (!token) {
    const p = join(resolve(flags.data ?? env.COMPUTEMD_DATA ?? '.computemd'), 'admin.token');
    if (existsSync(p)) token = readFileSync(p, 'utf8').trim();
  }
  const proofs = (env.COMPUTEMD_PROOFS ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return new ComputeMdClient({ baseUrl, token, ...(proofs.length > 0 ? { proofs } : {}) });
}
