/**
 * Pages over time-ordered KV indexes whose keys end in (time, id):
 * `[...base, time: bigint, id: Uint8Array]`. KV's key order is then the
 * order (time, id), so a page is a range `list`, and several indexes (one
 * per topic, say) merge into one ordered page. Any repository with such
 * keys pages through here.
 */
import { compareBytes } from "../lib/bytes.ts";

/** A position in an order: an entry's time and id. */
export interface Position {
  time: bigint;
  hash: Uint8Array;
}

/** Which part of the indexes a page covers. */
export interface ScanRange {
  /** Inclusive bounds on time. */
  startTime?: bigint;
  endTime?: bigint;
  /** Exclusive: the page starts after (forward) or before (backward) this position. */
  cursor?: Position;
  forward: boolean;
}

/** One index entry read. */
export interface Scanned {
  pos: Position;
  value: Uint8Array;
}

/** What mergePage found: entries in scan order, and where it stopped if it hit maxScan. */
export interface Merged {
  entries: Scanned[];
  capped?: Position;
}

/** Compares positions in scan order. */
export function comparePos(a: Position, b: Position, forward: boolean): number {
  const c = a.time < b.time ? -1 : a.time > b.time ? 1 : compareBytes(a.hash, b.hash);
  return forward ? c : -c;
}

/** Iterates one index range in scan order; `limit` bounds what KV reads ahead. */
export async function* scanIndex(
  kv: Deno.Kv,
  base: Deno.KvKey,
  r: ScanRange,
  limit?: number,
): AsyncGenerator<Scanned> {
  if (r.startTime !== undefined && r.endTime !== undefined && r.startTime > r.endTime) return;
  // A cursor past the window in the direction of travel leaves nothing to read.
  const c0 = r.cursor;
  if (c0 && r.forward && r.endTime !== undefined && c0.time > r.endTime) return;
  if (c0 && !r.forward && r.startTime !== undefined && c0.time < r.startTime) return;
  const n = base.length;
  // Lower bound (inclusive) and upper bound (exclusive) as keys.
  let lower: Deno.KvKey | undefined = r.startTime !== undefined
    ? [...base, r.startTime]
    : undefined;
  let upper: Deno.KvKey | undefined = r.endTime !== undefined
    ? [...base, r.endTime + 1n]
    : undefined;
  const c = r.cursor;
  if (c && r.forward && (r.startTime === undefined || c.time >= r.startTime)) {
    lower = [...base, c.time, c.hash, new Uint8Array(0)]; // just after the cursor's key
  }
  if (c && !r.forward && (r.endTime === undefined || c.time <= r.endTime)) {
    upper = [...base, c.time, c.hash];
  }
  const selector: Deno.KvListSelector = lower && upper
    ? { start: lower, end: upper }
    : lower
    ? { prefix: base, start: lower }
    : upper
    ? { prefix: base, end: upper }
    : { prefix: base };
  const batchSize = Math.min(limit ?? 500, 500);
  for await (const e of kv.list<Uint8Array>(selector, { reverse: !r.forward, limit, batchSize })) {
    yield { pos: { time: e.key[n] as bigint, hash: e.key[n + 1] as Uint8Array }, value: e.value };
  }
}

/**
 * Merges index ranges in scan order and keeps the entries `keep` accepts,
 * until it has `want` of them or has read `maxScan` entries (then `capped`
 * is the last position read, where a next page can resume).
 */
export async function mergePage(
  kv: Deno.Kv,
  bases: readonly Deno.KvKey[],
  r: ScanRange,
  want: number,
  maxScan: number,
  keep?: (s: Scanned) => boolean,
): Promise<Merged> {
  const streams = bases.map((base) => scanIndex(kv, base, r, keep ? undefined : want));
  const heads = await Promise.all(streams.map((s) => s.next()));
  const entries: Scanned[] = [];
  let scanned = 0;
  let capped: Position | undefined;
  try {
    while (entries.length < want) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h.done) continue;
        const b = heads[best] as IteratorYieldResult<Scanned> | undefined;
        if (!b || comparePos(h.value.pos, b.value.pos, r.forward) < 0) best = i;
      }
      if (best === -1) break;
      const s = (heads[best] as IteratorYieldResult<Scanned>).value;
      heads[best] = await streams[best].next();
      if (!keep || keep(s)) entries.push(s);
      if (++scanned >= maxScan && entries.length < want) {
        capped = s.pos;
        break;
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.return?.(undefined)));
  }
  return { entries, capped };
}
