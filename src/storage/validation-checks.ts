import type { RuntimeRepository, ValidationRecord } from './store.js';

/**
 * What both backends' validation records (sqlite/validations.ts, postgres/validations.ts) share:
 * the checks run before any SQL, so a bad record is the same TypeError or RangeError on each.
 */

/** The part of the runtime repository each backend's validations.ts builds. */
export type ValidationMethods = Pick<
  RuntimeRepository,
  'insertValidation' | 'getValidation' | 'validationForLease' | 'updateValidation' | 'listValidations'
>;

/** What a backend writes for a record: its JSON columns as text, and the leases that belong to it. */
export interface ValidationColumns {
  runs: string;
  /** null is SQL NULL, not the JSON text 'null', so `decision IS NULL` means "not decided". */
  decision: string | null;
  /** The primary, then each run's lease not yet named, in order: the rows of validation_leases. */
  leases: string[];
}

/**
 * Checks a record before any SQL: `runs` an array whose runs each name a lease (else a TypeError),
 * no lease twice (a RangeError: within one record it is a bug in the caller, not a conflict with
 * another validation, which is a DuplicateError), `decision` an object or null (else a TypeError).
 */
export function validationColumns(v: ValidationRecord): ValidationColumns {
  if (!Array.isArray(v.runs))
    throw new TypeError(`validation ${v.id}: runs must be an array, got ${describe(v.runs)}`);
  const d: unknown = v.decision;
  if (d !== null && (typeof d !== 'object' || Array.isArray(d)))
    throw new TypeError(`validation ${v.id}: decision must be an object or null, got ${describe(d)}`);
  const named = new Set<string>();
  v.runs.forEach((r: unknown, i) => {
    const id: unknown = (r as { lease_id?: unknown } | null)?.lease_id;
    if (typeof id !== 'string' || id === '')
      throw new TypeError(`validation ${v.id}: run ${i} needs a lease_id, got ${describe(id)}`);
    if (named.has(id))
      throw new RangeError(
        `validation ${v.id} names lease ${id} in more than one run. To fix: give each run its own lease.`,
      );
    named.add(id);
  });
  return {
    runs: JSON.stringify(v.runs),
    decision: d === null ? null : JSON.stringify(d),
    leases: [v.lease_id, ...[...named].filter((id) => id !== v.lease_id)],
  };
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
