/**
 * Exponential backoff with full jitter, for reconnecting to peers.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseMs: 500, maxMs: 30_000 }); // a value in [0, 4000)
 * ```
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (0-based): random in [0, min(max, base·2^attempt)). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
