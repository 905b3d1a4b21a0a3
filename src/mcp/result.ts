import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ComputeMdError } from '../sdk/errors.js';

/**
 * Tool results: a human-readable text for the model and the person reading along, and the same
 * answer as structured content for code. A refusal is a result with `isError: true` carrying the
 * gateway's problem detail (and the problem itself), never a protocol error: the model reads it
 * and can change its request.
 */
export function answer(text: string, structured: object): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured as Record<string, unknown> };
}

export function refuse(detail: string, structured: Record<string, unknown> = {}): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: detail }],
    structuredContent: { detail, ...structured },
  };
}

/** The problem's detail, naming the field at fault; the problem+json as structured content. */
export function refusal(err: ComputeMdError, prefix = ''): CallToolResult {
  const p = err.problem;
  const where = p.param ? `${String(p.param)}: ` : '';
  const detail = `${prefix}${where}${p.detail}`;
  return refuse(detail, { problem: { ...p } });
}

/** Runs a tool body; a ComputeMdError (the gateway refused, or cannot be reached) becomes a refusal. */
export async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ComputeMdError) return refusal(err);
    throw err;
  }
}
