/**
 * The MVDS bench's tables. The harness's main table (bench/harness/
 * report.ts) is shaped for rates with latencies in ms; these rows measure
 * delivery shares, epochs, bytes and records over several seeds, so they
 * get a table with the same columns in the same order (measurement,
 * setting, syncgate, baseline, baseline value, ratio, target, result), each
 * value the mean over the seeds with their range in brackets, and PASS
 * only when every seed meets the target.
 */
import { fmtRate } from "../harness/format.ts";
import type { SeedRun } from "./scenarios.ts";

/** Mean and range of one quantity over the seeds. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
}

export function spread(xs: readonly number[]): Spread {
  return {
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    min: Math.min(...xs),
    max: Math.max(...xs),
  };
}

/** How a quantity reads. */
export type Unit = "%" | "B" | "epochs" | "records";

export function fmtValue(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return "–";
  switch (unit) {
    case "%":
      return v === 1 ? "100%" : `${(v * 100).toFixed(1)}%`;
    case "B":
      return `${fmtRate(v)} B`;
    case "epochs":
      return v >= 100 ? fmtRate(v) : v.toFixed(1);
    case "records":
      return fmtRate(v);
  }
}

/** "mean [min–max]", or one value when all seeds agree. */
export function fmtSpread(s: Spread, unit: Unit): string {
  if (fmtValue(s.min, unit) === fmtValue(s.max, unit)) return fmtValue(s.mean, unit);
  const bare = (v: number) => fmtValue(v, unit).replace(/ B$/, "").replace(/%$/, "");
  return `${fmtValue(s.mean, unit)} [${bare(s.min)}–${bare(s.max)}]`;
}

export function fmtRatio(s: Spread): string {
  const r = (v: number) => v >= 10 ? v.toFixed(0) : v.toFixed(2);
  return r(s.min) === r(s.max) ? `${r(s.mean)}×` : `${r(s.mean)}× [${r(s.min)}–${r(s.max)}]`;
}

/** One row of the main table. */
export interface SimRow {
  measurement: string;
  setting: string;
  unit: Unit;
  /** Per seed. */
  values: number[];
  baselineLabel: string;
  baselines?: number[];
  /** Per seed: value / baseline (given when it means something). */
  ratios?: number[];
  /** What a seed must reach, and whether each did; no target = "info". */
  target?: { text: string; pass: boolean[] };
  /** Shown in the target column of an "info" row, e.g. what the reference reported. */
  beside?: string;
}

export function verdict(row: SimRow): string {
  if (!row.target) return "info";
  const misses = row.target.pass.filter((p) => !p).length;
  return misses ? `**MISS** (${misses} of ${row.target.pass.length} seeds)` : "PASS";
}

export function mainTable(rows: readonly SimRow[]): string {
  const out = [
    "| Measurement | Setting | syncgate | Baseline | Baseline value | Ratio | Target | Result |",
    "| --- | --- | ---: | --- | ---: | ---: | --- | --- |",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.measurement} | ${r.setting} | ${fmtSpread(spread(r.values), r.unit)} | ` +
        `${r.baselineLabel} | ${r.baselines ? fmtSpread(spread(r.baselines), r.unit) : "–"} | ` +
        `${r.ratios ? fmtRatio(spread(r.ratios)) : "–"} | ${r.target?.text ?? r.beside ?? "–"} | ${
          verdict(r)
        } |`,
    );
  }
  return out.join("\n");
}

/** One scenario's runs for the detail table. */
export interface DetailEntry {
  setting: string;
  mode: string;
  runs: SeedRun[];
  horizon?: number;
}

/** Every run's numbers, lossy beside lossless, means over the seeds (max: the largest). */
export function detailTable(entries: readonly DetailEntry[]): string {
  const out = [
    "| Setting | Mode | Run | Delivered | Within horizon | Latency mean / p50 / p95 / max (epochs) | Bytes per delivered | Payloads sent (lost) | Epochs to settle | Peak records of a node (messages) |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const e of entries) {
    for (const which of ["lossy", "lossless"] as const) {
      const reps = e.runs.map((r) => r[which].report);
      const mean = (f: (x: (typeof reps)[number]) => number) =>
        reps.reduce((a, x) => a + f(x), 0) / reps.length;
      const settled = reps.filter((r) => r.settled).length;
      const within = spread(e.runs.map((r) => r[which].withinHorizon));
      out.push(
        `| ${e.setting} | ${e.mode} | ${which} | ${
          fmtSpread(spread(reps.map((r) => r.deliveryRatio)), "%")
        } | ` +
          `${e.horizon === undefined ? "–" : fmtSpread(within, "%")} | ` +
          `${mean((r) => r.latency.mean).toFixed(1)} / ${
            mean((r) => r.latency.p50).toFixed(1)
          } / ` +
          `${mean((r) => r.latency.p95).toFixed(1)} / ${
            Math.max(...reps.map((r) => r.latency.max))
          } | ` +
          `${fmtSpread(spread(reps.map((r) => r.bytesPerDelivered)), "B")} | ` +
          `${fmtRate(mean((r) => r.payloadsSent))} (${fmtRate(mean((r) => r.payloadsLost))}) | ` +
          `${fmtRate(mean((r) => r.epochs))}${
            settled === reps.length ? "" : ` (${reps.length - settled} unsettled)`
          } | ` +
          `${fmtRate(mean((r) => r.peakNode.records))} (${
            fmtRate(mean((r) => r.peakNode.messages))
          }) |`,
      );
    }
  }
  return out.join("\n");
}
