/**
 * HTTP load on the server under test: closed loops by wrk (warm-up, then a
 * timed run, with both sides' CPU) and open loops at an offered rate by
 * fetch, which wrk cannot do.
 */
import { type CpuSource, withCpu } from "./cpu.ts";
import { Latencies, type Result, resultOf } from "./result.ts";
import { runWrk, type WrkRequest, type WrkResult } from "./wrk.ts";

/** POSTs a JSON body; `timeoutMs` undefined = no time limit. */
export function postJson(url: string, body: string, timeoutMs?: number): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
  });
}

/** A Result from a wrk run; logs the first non-200 answer under `what`. */
export function fromWrk(w: WrkResult, what: string, note?: string): Result {
  if (w.firstError) console.error(`${what}: first error: ${w.firstError}`);
  return {
    ops: w.requests,
    seconds: w.seconds,
    rate: w.requests / w.seconds,
    p50: w.p50,
    p99: w.p99,
    errors: w.errors,
    clientCpuSeconds: w.cpuSeconds,
    note,
  };
}

/** A closed-loop wrk row. */
export interface WrkRow {
  connections: number;
  seconds: number;
  /** Seconds of untimed warm-up on `warmReqs` (default: the same list) first; default 2. */
  warmSeconds?: number;
  warmReqs?: readonly WrkRequest[];
  /** Names the row in error logs. */
  what: string;
  note?: (w: WrkResult) => string | undefined;
}

/**
 * Replays `reqs` against `baseUrl` with wrk: a warm-up, then `seconds` timed, measuring the CPU
 * of `server` and wrk. Also gives wrk's own result (how many it sent, for instance).
 *
 * @example
 * ```ts
 * const { result } = await wrkRow(gw, gw.url, [{ method: "GET", path: "/health" }],
 *   { connections: 50, seconds: 10, what: "health" });
 * ```
 */
export async function wrkRow(
  server: CpuSource | undefined,
  baseUrl: string,
  reqs: readonly WrkRequest[],
  row: WrkRow,
): Promise<{ result: Result; wrk: WrkResult }> {
  const warmSeconds = row.warmSeconds ?? 2;
  if (warmSeconds > 0) {
    await runWrk(baseUrl, row.warmReqs ?? reqs, {
      connections: row.connections,
      seconds: warmSeconds,
    });
  }
  let wrk!: WrkResult;
  const result = await withCpu(server, async () => {
    wrk = await runWrk(baseUrl, reqs, { connections: row.connections, seconds: row.seconds });
    return fromWrk(wrk, row.what, row.note?.(wrk));
  });
  return { result, wrk };
}

/** An open-loop run: `workers` clients together offer `rate` operations/s for `seconds`. */
export interface OpenLoop {
  rate: number;
  seconds: number;
  workers: number;
  /** Stops sending after this long (what was not sent stays unsent). */
  maxSeconds: number;
  /** Sends operation k; resolves whether it went right. */
  send: (k: number) => Promise<boolean>;
}

/**
 * Open loop: operation k is due at start + k/rate; each client sends its next one when it is
 * due or, if behind, as soon as its previous one is answered. Latency counts from the due time,
 * so time spent waiting behind a slow server is included (no coordinated omission). Gives the
 * Result and which operations were sent (1) or not (0), for the caller to complete untimed.
 */
export async function openLoop(
  server: CpuSource | undefined,
  run: OpenLoop,
  note?: string,
): Promise<{ result: Result; sent: Uint8Array }> {
  const count = Math.round(run.rate * run.seconds);
  const gap = 1000 / run.rate;
  const sent = new Uint8Array(count);
  let errors = 0, done = 0, timedOut = false;
  const lat = new Latencies();
  const result = await withCpu(server, async () => {
    const start = performance.now() + 20;
    const deadline = start + run.maxSeconds * 1000;
    await Promise.all(Array.from({ length: Math.min(run.workers, count) }, async (_, p) => {
      for (let k = p; k < count; k += run.workers) {
        const due = start + k * gap;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        if (performance.now() > deadline) {
          timedOut = true;
          return;
        }
        const ok = await run.send(k);
        lat.add(performance.now() - due);
        sent[k] = 1;
        done++;
        if (!ok) errors++;
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    const notes = [note, timedOut ? "stopped at time limit" : undefined].filter(Boolean);
    return resultOf(done, seconds, lat, errors, notes.join("; ") || undefined);
  });
  return { result, sent };
}
