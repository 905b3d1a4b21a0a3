import type { LeaseRuntimeRecord, NewLogLine, OutputRecord, RuntimeRepository } from './store.js';

/**
 * What both backends' lease runtime (sqlite/leases.ts, postgres/leases.ts) shares: the checks run
 * before any SQL, so a bad argument is the same RangeError or TypeError on each, whatever either
 * database would say.
 */

/** The part of the runtime repository each backend's leases.ts builds; its runtime.ts adds the rest. */
export type LeaseRuntimeMethods = Pick<
  RuntimeRepository,
  | 'insertLease'
  | 'getLease'
  | 'updateLease'
  | 'listLeases'
  | 'appendLogs'
  | 'listLogs'
  | 'putOutput'
  | 'getOutput'
  | 'listOutputs'
>;

/** The most UTF-8 bytes of one log line; the caller cuts a longer one before appending. */
export const MAX_LOG_LINE_BYTES = 8192;
/** The most lines one `appendLogs` call takes. */
export const MAX_LOG_LINES_PER_APPEND = 1000;

/** A page size: 1 ≤ limit ≤ 1000, so one call never reads an unbounded table. */
export function checkListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RangeError(`limit must be an integer from 1 to 1000, got ${limit}`);
}

export function checkLogLines(leaseId: string, lines: readonly NewLogLine[]): void {
  if (lines.length > MAX_LOG_LINES_PER_APPEND)
    throw new RangeError(
      `appendLogs takes at most ${MAX_LOG_LINES_PER_APPEND} lines, got ${lines.length} for lease ${leaseId}. ` +
        'To fix: append in batches.',
    );
  lines.forEach((l, i) => {
    const bytes = Buffer.byteLength(l.line, 'utf8');
    if (bytes > MAX_LOG_LINE_BYTES)
      throw new RangeError(
        `log line ${i} for lease ${leaseId} is ${bytes} bytes, over ${MAX_LOG_LINE_BYTES}. ` +
          'To fix: cut it before appending.',
      );
    // PostgreSQL text cannot hold U+0000 and SQLite can: refused on both, so the backends agree.
    if (l.line.includes('\0'))
      throw new RangeError(
        `log line ${i} for lease ${leaseId} contains U+0000. To fix: replace it (with U+FFFD) before appending.`,
      );
  });
}

/** `bytes` must be the data's length: a mismatch is a bug in the caller, not something to store. */
export function checkOutput(o: OutputRecord): void {
  if (o.bytes !== o.data.length)
    throw new RangeError(
      `output ${o.name} of lease ${o.lease_id} says ${o.bytes} bytes but holds ${o.data.length}. ` +
        'To fix: set bytes to data.length.',
    );
}

/** The record's JSON columns as text: `handle` an object, `history` an array (else a TypeError). */
export function leaseJson(r: LeaseRuntimeRecord): { handle: string; history: string } {
  const h: unknown = r.handle;
  if (typeof h !== 'object' || h === null || Array.isArray(h))
    throw new TypeError(`lease ${r.lease_id}: handle must be a JSON object, got ${describe(h)}`);
  if (!Array.isArray(r.history))
    throw new TypeError(`lease ${r.lease_id}: history must be an array, got ${describe(r.history)}`);
  return { handle: JSON.stringify(h), history: JSON.stringify(r.history) };
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
