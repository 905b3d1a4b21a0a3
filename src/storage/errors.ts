/**
 * Errors every storage backend raises in the same shape, so callers never inspect a driver's codes.
 * Both are bugs or operator problems, not expected outcomes (STYLE.md 9), hence exceptions.
 */

/** An insert hit an existing primary key. Ids are random (ids.ts), so this is a bug in the caller. */
export class DuplicateError extends Error {
  override readonly name = 'DuplicateError';
  constructor(
    readonly entity: string,
    readonly id: string,
    options?: { cause?: unknown },
  ) {
    super(`${entity} ${id} already exists. To fix: insert with a fresh id from newId().`, options);
  }
}

/** The database's schema cannot be used by this code. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    /** Migration ids the database records that this code does not know. */
    readonly unknownIds: readonly number[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
