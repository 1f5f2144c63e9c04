/**
 * A row of the main table: the gateway's result beside a raw baseline's,
 * their ratio, and PASS/MISS against the row's target. Misses are reported
 * as misses; a row without a target is "info".
 */
import type { Result } from "./result.ts";

/** What a row must reach; undefined fields are not judged. */
export interface Target {
  /** Least gateway rate / baseline rate. */
  ratio?: number;
  /** Least gateway rate. */
  rate?: number;
  /** Largest gateway p99 in ms. */
  p99?: number;
  /** The target as the table shows it, e.g. "≥ 0.8× raw". */
  text: string;
}

/** One row of the main table. */
export interface Row {
  measurement: string;
  /** The store size (or range) it ran at, e.g. "0→100k". */
  size: string;
  /** "msgs/s", "pages/s", "req/s", … */
  unit: string;
  gateway: Result;
  baselineLabel: string;
  baseline?: Result;
  target?: Target;
}

/** gateway rate / baseline rate; undefined without a baseline. */
export function ratio(row: Row): number | undefined {
  return row.baseline ? row.gateway.rate / row.baseline.rate : undefined;
}

/** "PASS", "**MISS** (what)", "MISS (errors)" or "info". */
export function verdict(row: Row): string {
  const t = row.target;
  if (!t) return "info";
  if (row.gateway.errors > 0) return "MISS (errors)";
  const misses: string[] = [];
  const r = ratio(row);
  if (t.ratio !== undefined && r !== undefined && r < t.ratio) misses.push("ratio");
  if (t.rate !== undefined && row.gateway.rate < t.rate) misses.push("rate");
  if (t.p99 !== undefined && (row.gateway.p99 ?? Infinity) > t.p99) misses.push("p99");
  return misses.length ? `**MISS** (${misses.join(", ")})` : "PASS";
}
