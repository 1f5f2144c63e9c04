/**
 * The bench harness every bridge's bench is built on (see BENCHMARKS.md and
 * bench/waku_bench.ts for a whole one):
 *
 * - options.ts — `--name=value` flags and BENCH_* env vars, typed; COMMON_OPTIONS
 * - server.ts — the gateway on a bench KV file (own process or this one), a no-op server
 * - files.ts — the work dir and its cleanup, fsync between phases, cache warming, file sizes
 * - measure.ts, http_load.ts, wrk.ts — closed loops in process, by wrk, open loops by fetch
 * - raw_kv.ts — raw KV baselines doing the writes the caller takes from storage/
 * - cpu.ts, result.ts — what a row measured, with both sides' CPU
 * - verdict.ts, report.ts, format.ts — ratio, PASS/MISS, the tables, the JSON
 * - machine.ts — machine description, source fingerprint, log lines
 *
 * @example
 * ```ts
 * const o = await parseOptions({ ...COMMON_OPTIONS, n: numberOption("items", 100_000, 5_000) });
 * const work = await workDir(o.dir, o.keep);
 * const gw = await startGatewayServer({ kvPath: await work.kv("gateway"), inProcess: o.inProcess });
 * const rows: Row[] = [];
 * try {
 *   const { result } = await wrkRow(gw, gw.url, requests, { connections: 50, seconds: o.wrkSeconds, what: "x" });
 *   const raw = await rawCommits(rawKv, 0, o.n, { perCommit: 500, writesOf });
 *   rows.push({ measurement: "…", size: fmtN(o.n), unit: "req/s", gateway: result,
 *     baselineLabel: "raw KV …", baseline: raw, target: { ratio: 0.8, text: "≥ 0.8× raw" } });
 * } finally {
 *   await gw.close();
 *   await work.cleanup();
 * }
 * console.log(renderReport({ title: "…", rows, ladders: [], … }));
 * ```
 */
export * from "./cpu.ts";
export * from "./files.ts";
export * from "./format.ts";
export * from "./http_load.ts";
export * from "./machine.ts";
export * from "./measure.ts";
export * from "./options.ts";
export * from "./raw_kv.ts";
export * from "./report.ts";
export * from "./result.ts";
export * from "./server.ts";
export * from "./verdict.ts";
export * from "./wrk.ts";
export * from "./wrk_template.ts";
