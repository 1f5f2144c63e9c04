/**
 * The wrk driver moved to bench/harness/wrk.ts; this re-export keeps the
 * benches that import it from here (bench/front_bench.ts) working.
 */
export * from "./harness/wrk.ts";
