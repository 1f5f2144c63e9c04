/**
 * How long a resolved record may be cached: its TTL, but never past its
 * validity (a cache must not hand out a record that no longer verifies).
 * A TTL of 0 gets the 60 s the delegated routing spec gives as default.
 *
 * @example
 * ```ts
 * cacheWindow(info, Date.now()); // { maxAge: 300, validFor: 86_399 }
 * ```
 */
import type { IpnsRecordInfo } from "./record.ts";

/** The cache TTL of a record whose own TTL is 0 (routing v1: "default to max-age=60"). */
export const DEFAULT_TTL_SECONDS = 60;

/** A record's cache lifetimes, in whole seconds from now. */
export interface CacheWindow {
  /** How long a cache may serve it as fresh: min(TTL, validFor). */
  maxAge: number;
  /** How long it stays valid (0 once expired). */
  validFor: number;
}

/** The cache window of a record at `nowMs` (ms since the Unix epoch). */
export function cacheWindow(info: IpnsRecordInfo, nowMs: number): CacheWindow {
  const left = (info.validUntilNs - BigInt(nowMs) * 1_000_000n) / 1_000_000_000n;
  const validFor = left > 0n ? Number(left) : 0;
  const ttl = info.ttlNs > 0n ? Number(info.ttlNs / 1_000_000_000n) : DEFAULT_TTL_SECONDS;
  return { maxAge: Math.min(ttl, validFor), validFor };
}
