/**
 * How a remote log grows and is read, page by page, in the spec's three
 * modes. Pure: the caller stores pages in CAS and names the head.
 *
 * - `full`: the name points at one page holding every pair; no tail.
 * - `paged`: the name points at the newest page of at most `pageSize`
 *   pairs; a full head starts a new page whose tail is the old head.
 * - `linked`: `paged` with pages of one pair (a linked list).
 *
 * Pages are immutable once in CAS; an append writes one new page (a copy
 * of the head with the new pair first, or a fresh page) and moves the name.
 */
import { compareBytes } from "../../lib/bytes.ts";
import type { Pair, RemoteLog } from "./remote_log.ts";

export type LogMode = "full" | "paged" | "linked";

/** The pairs a page holds at most in this mode. */
export function pageCapacity(mode: LogMode, pageSize: number): number {
  return mode === "full" ? Infinity : mode === "linked" ? 1 : pageSize;
}

/**
 * The head page after appending `pair`, given the current head page and
 * its address (both absent for an empty log).
 */
export function appendPair(
  mode: LogMode,
  pageSize: number,
  head: { page: RemoteLog; address: Uint8Array } | undefined,
  pair: Pair,
): RemoteLog {
  if (!head) return { pairs: [pair], tail: new Uint8Array(0) };
  if (head.page.pairs.length < pageCapacity(mode, pageSize)) {
    return { pairs: [pair, ...head.page.pairs], tail: head.page.tail };
  }
  return { pairs: [pair], tail: head.address };
}

/** What a walk from the head found. */
export interface Walked {
  /** Pairs after `after`, oldest first, at most `limit`. */
  pairs: Pair[];
  /** Whether more pairs follow the last one returned. */
  more: boolean;
  /** Whether `after` was found (false: the walk reached the first page without it). */
  foundAfter: boolean;
}

/**
 * Walks pages from the head (newest first) until it meets the pair whose
 * localHash is `after` (or the first page), and returns the pairs after it,
 * oldest first. `pages` yields the head page, then each tail's page.
 */
export async function pairsAfter(
  pages: AsyncIterable<RemoteLog>,
  after: Uint8Array | undefined,
  limit: number,
): Promise<Walked> {
  const newer: Pair[] = [];
  let foundAfter = false;
  outer: for await (const page of pages) {
    for (const p of page.pairs) {
      if (after && compareBytes(p.localHash, after) === 0) {
        foundAfter = true;
        break outer;
      }
      newer.push(p);
    }
  }
  newer.reverse();
  return { pairs: newer.slice(0, limit), more: newer.length > limit, foundAfter };
}
