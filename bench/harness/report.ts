/**
 * The bench's output: the markdown BENCHMARKS.md records (the main table,
 * the CPU of each HTTP row, the breakdown ladders) and the same results as
 * JSON.
 */
import { fmtCores, fmtMs, fmtRate } from "./format.ts";
import type { Result } from "./result.ts";
import { ratio, type Row, verdict } from "./verdict.ts";

/** A breakdown: one layer added per row, each compared with the first. */
export interface Ladder {
  /** The paragraph above the table. */
  caption: string;
  /** The first column's header, e.g. "Ingest layer". */
  layer: string;
  unit: string;
  rows: { label: string; r: Result }[];
}

/** Everything one run found. */
export interface Report {
  /** The section title, e.g. "Waku store". */
  title: string;
  machine: string;
  fingerprint: string;
  /** One paragraph on how the run went (where the gateway ran, how long it took, …). */
  summary: string;
  rows: Row[];
  ladders: Ladder[];
  options: unknown;
}

/** The main table: one line per row, with ratio, target and verdict. */
export function mainTable(rows: readonly Row[]): string {
  const out = [
    "| Measurement | Store size | syncgate | p50 / p99 ms | Baseline | Baseline rate | Ratio | Target | Result |",
    "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
  ];
  for (const r of rows) {
    const q = ratio(r);
    const b = r.baseline;
    const baseRate = b === undefined ? "–" : `${fmtRate(b.rate)} ${r.unit}` +
      (r.unit === "pages/s" && b.p99 !== undefined
        ? ` (p50/p99 ${fmtMs(b.p50)} / ${fmtMs(b.p99)} ms)`
        : "");
    out.push(
      `| ${r.measurement} | ${r.size} | ${fmtRate(r.gateway.rate)} ${r.unit} | ` +
        `${fmtMs(r.gateway.p50)} / ${fmtMs(r.gateway.p99)} | ${r.baselineLabel} | ${baseRate} | ` +
        `${q === undefined ? "–" : q.toFixed(2) + "×"} | ${r.target?.text ?? "–"} | ${
          verdict(r)
        } |`,
    );
  }
  return out.join("\n");
}

/** One line per distinct measured result: the server's and the client's CPU, errors, note. */
export function cpuLines(rows: readonly Row[]): string[] {
  return rows.filter((r, i) => rows.findIndex((x) => x.gateway === r.gateway) === i)
    .map((r) =>
      `- ${r.measurement} @ ${r.size}: ${fmtCores(r.gateway.serverCores)} / ` +
      fmtCores(r.gateway.clientCores) + (r.gateway.errors ? ` — ${r.gateway.errors} errors` : "") +
      (r.gateway.note ? ` (${r.gateway.note})` : "")
    );
}

/** A ladder's table; a "KiB written/msg" column when any row knows its disk writes. */
export function ladderTable(ladder: Ladder): string {
  const { layer, unit, rows } = ladder;
  const io = rows.some((x) => x.r.writtenPerOp !== undefined);
  const out = [
    `| ${layer} | Rate | p50 / p99 ms | vs first row | CPU cores (client / server) |` +
    (io ? " KiB written/msg |" : ""),
    "| --- | ---: | ---: | ---: | ---: |" + (io ? " ---: |" : ""),
  ];
  const first = rows[0]?.r.rate ?? NaN;
  for (const { label, r } of rows) {
    out.push(
      `| ${label} | ${fmtRate(r.rate)} ${unit} | ${fmtMs(r.p50)} / ${fmtMs(r.p99)} | ` +
        `${(r.rate / first).toFixed(2)}× | ${fmtCores(r.clientCores)} / ${
          fmtCores(r.serverCores)
        } |` +
        (io ? ` ${r.writtenPerOp === undefined ? "–" : (r.writtenPerOp / 1024).toFixed(1)} |` : ""),
    );
  }
  return out.join("\n");
}

/** The report as the markdown BENCHMARKS.md records. */
export function renderReport(rep: Report): string {
  const out = [
    "",
    `## ${rep.title} — results ${new Date().toISOString().slice(0, 10)}, ${rep.machine}`,
    "",
    `${rep.summary} Gateway source sha256 ${rep.fingerprint}.`,
    "",
    mainTable(rep.rows),
    "",
    "CPU during the HTTP rows (cores; the gateway's process / the load generator):",
    "",
    ...cpuLines(rep.rows),
  ];
  for (const l of rep.ladders) {
    if (l.rows.length) out.push("", l.caption, "", ladderTable(l));
  }
  return out.join("\n");
}

/** Writes the report as JSON (bigints as decimal strings). */
export async function writeJson(path: string, rep: Report): Promise<void> {
  await Deno.writeTextFile(
    path,
    JSON.stringify(rep, (_k, v) => typeof v === "bigint" ? v.toString() : v, 2),
  );
}
