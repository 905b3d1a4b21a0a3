import type { Snapshot } from './index-store.js';

/** What one update changed in the live snapshot, so the market drops exactly the caches it must. */
export interface ReservationChange {
  /** The map changed (reservation epoch moves on). */
  changed: boolean;
  /** Rows whose `available` changed. */
  rows: number;
  /** Some row went from available to sold out or back (spot prices count only rows with capacity). */
  crossedZero: boolean;
}

const nodes = (v: number) => (Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * Nodes reserved per offer id, as read from the database, written into the snapshot's `available`
 * column (= supply − reserved, at least 0). Reads then cost nothing extra; the work is here, in
 * proportion to the ids that change. Ids of offers not in the snapshot are kept: the offer may come
 * back on a later refresh.
 */
export class Reservations {
  private readonly byId = new Map<string, number>();
  private epochN = 0;

  /** Moves on whenever the map changes: caches of replies keyed on availability use it. */
  get epoch(): number {
    return this.epochN;
  }

  get(id: string): number {
    return this.byId.get(id) ?? 0;
  }

  /** Re-derive every row of a new snapshot (its kept rows carry the old snapshot's figures). */
  applyAll(snap: Snapshot): void {
    snap.cols.available.set(snap.cols.supply);
    for (const [id, k] of this.byId) writeRow(snap, id, k, null);
  }

  /** `replace`: the whole map (a missing id means 0). `patch`: only the given ids (0 removes). */
  update(
    reserved: ReadonlyMap<string, number>,
    mode: 'replace' | 'patch',
    snap: Snapshot,
  ): ReservationChange {
    const out: ReservationChange = { changed: false, rows: 0, crossedZero: false };
    const set = (id: string, k: number) => {
      if (k === (this.byId.get(id) ?? 0)) return;
      if (k === 0) this.byId.delete(id);
      else this.byId.set(id, k);
      out.changed = true;
      writeRow(snap, id, k, out);
    };
    if (mode === 'replace') {
      for (const id of [...this.byId.keys()]) if (!reserved.has(id)) set(id, 0);
    }
    for (const [id, v] of reserved) set(id, nodes(v));
    if (out.changed) this.epochN++;
    return out;
  }
}

function writeRow(snap: Snapshot, id: string, k: number, out: ReservationChange | null): void {
  const r = snap.rowOf(id);
  if (r < 0) return;
  const { supply, available } = snap.cols;
  const before = available[r] as number;
  const next = Math.max(0, (supply[r] as number) - k);
  if (next === before) return;
  available[r] = next;
  if (out) {
    out.rows++;
    if ((before === 0) !== (next === 0)) out.crossedZero = true;
  }
}
