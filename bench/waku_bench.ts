/**
 * Waku store benchmark: the gateway over real loopback HTTP beside raw Deno KV
 * doing the same work, in the same run. See BENCHMARKS.md for what each row means.
 *
 *   deno task bench                         # full run: stores of 100k and 1M messages
 *   deno task bench --quick                 # smoke run: 10k and 50k messages
 *   deno task bench --sizes=100000,300000   # choose the store sizes (see parseOptions)
 *   deno run -A bench/waku_bench.ts         # adds disk bytes written (/proc/self/io)
 *
 * Measurements:
 * - bulk ingest: POST /relay/v1/bulk, JSON arrays of `--bulk-batch` messages, vs raw KV
 *   `set`s in atomic batches of 500 (one key per message), and vs raw KV doing the
 *   gateway's own writes (its publish commit and deferred hash index);
 * - single publishes: `--publishers` clients each POSTing /relay/v1/messages/{topic} one
 *   message at a time, back to back (closed loop) and at offered rates (open loop);
 * - page queries: GET /store/v3/messages?pageSize=100&includeData=true with a cursor at a
 *   random stored message (with and without a contentTopics filter) vs raw `kv.list`
 *   pages of 100 from random start keys, at each store size;
 * - breakdown ladders (ingest, single publishes, queries) that add one layer at a time.
 *
 * The gateway runs in a child process (this file with `--serve`), started with
 * startGateway(loadConfig(...)) as main.ts does, so the load generator does not share its
 * event loop; `--in-process` runs it in this process instead. Everything is loopback only
 * and every loop is bounded by a count and a time limit.
 *
 * The raw "gateway writes" baseline mirrors storage/waku_repo.ts (key layout, commit size,
 * indexPending); keep them in step when the repository's layout changes.
 */
import { loadConfig } from "../config.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { encodeWakuMessage, messageHash, type WakuMessage } from "../protocols/waku/message.ts";
import { parseRetention } from "../protocols/waku/retention_policy.ts";
import { LiveHub, LocalNotifier } from "../services/live_hub.ts";
import { WakuService } from "../services/waku_service.ts";
import { openStore } from "../storage/kv.ts";
import {
  encodeRecord,
  packInt64,
  type StoredMessage,
  unpackInt64,
} from "../storage/waku_record.ts";
import { INDEX_BATCH, WakuRepo } from "../storage/waku_repo.ts";
import { compareBytes } from "../lib/bytes.ts";
import { GATEWAY_PERMISSIONS } from "../tests/helpers.ts";
import { runWrk, wrkAvailable, type WrkRequest, type WrkResult } from "./wrk.ts";
import os from "node:os";
import process from "node:process";

// ---------------------------------------------------------------------------------------------
// Child mode: serve a gateway until stdin closes.

if (Deno.args[0] === "--serve") {
  const gw = await startGateway(
    loadConfig({ SYNCGATE_PORT: "0", SYNCGATE_KV: Deno.args[1], SYNCGATE_LOG: "warn" }),
  );
  const bare = bareServer();
  console.log(`READY ${gw.url} ${bare.url}`);
  // Each "cpu" line on stdin is answered with this process's CPU seconds; EOF = stop.
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buf = "";
  for await (const chunk of lines) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) !== -1) {
      if (buf.slice(0, nl) === "cpu") console.log(`CPU ${cpuSelf()}`);
      buf = buf.slice(nl + 1);
    }
  }
  await bare.close();
  await gw.close();
  Deno.exit(0);
}

/** A no-op HTTP server beside the gateway: the floor of Deno HTTP on this machine. */
function bareServer(): { url: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      await req.arrayBuffer();
      return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
    },
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

// ---------------------------------------------------------------------------------------------
// Options: `--name=value` / `--name value` flags, or BENCH_NAME env vars.

interface Options {
  quick: boolean;
  /** The HTTP load generator for single publishes, the HTTP floor rows and page queries. */
  client: "wrk" | "fetch";
  /** How long each wrk row runs. */
  wrkSeconds: number;
  sizes: number[];
  singles: number;
  pacedRates: number[];
  pacedSeconds: number;
  publishers: number;
  bulkBatch: number;
  bulkInflight: number;
  queryPages: number;
  queryConcurrency: number[];
  phaseSeconds: number;
  inProcess: boolean;
  breakdown: boolean;
  dir?: string;
  keep: boolean;
  json?: string;
  seed: number;
}

async function parseOptions(args: string[]): Promise<Options> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new Error(`Unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq !== -1) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) flags.set(a.slice(2), args[++i]);
    else flags.set(a.slice(2), "true");
  }
  const known = [
    "quick",
    "client",
    "wrk-seconds",
    "sizes",
    "singles",
    "paced-rates",
    "paced-seconds",
    "publishers",
    "bulk-batch",
    "bulk-inflight",
    "query-pages",
    "query-concurrency",
    "phase-seconds",
    "in-process",
    "breakdown",
    "dir",
    "keep",
    "json",
    "seed",
  ];
  for (const k of flags.keys()) {
    if (!known.includes(k)) throw new Error(`Unknown flag --${k}; known: ${known.join(", ")}`);
  }
  const get = (name: string) =>
    flags.get(name) ?? Deno.env.get("BENCH_" + name.toUpperCase().replaceAll("-", "_"));
  const bool = (name: string, dflt: boolean) => {
    const v = get(name);
    return v === undefined ? dflt : v === "true" || v === "1";
  };
  const num = (name: string, dflt: number) => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v.replaceAll("_", ""));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, got ${v}`);
    return n;
  };
  const quick = bool("quick", false);
  const sizes = (get("sizes") ?? (quick ? "10000,50000" : "100000,1000000"))
    .split(",").map((s) => Number(s.trim().replaceAll("_", "")));
  if (sizes.some((s, i) => !Number.isInteger(s) || s < 2000 || (i > 0 && s <= sizes[i - 1]))) {
    throw new Error("--sizes must be increasing integers of at least 2000");
  }
  const client = get("client") ?? (await wrkAvailable() ? "wrk" : "fetch");
  if (client !== "wrk" && client !== "fetch") throw new Error("--client must be wrk or fetch");
  const o: Options = {
    quick,
    client,
    wrkSeconds: num("wrk-seconds", quick ? 3 : 10),
    sizes,
    singles: num("singles", quick ? 5000 : client === "wrk" ? 60000 : 30000),
    pacedRates: (get("paced-rates") ?? "10000,half").split(",").map((r) =>
      r.trim() === "half" ? -1 : Number(r)
    ),
    pacedSeconds: num("paced-seconds", quick ? 1 : 5),
    publishers: num("publishers", 200),
    bulkBatch: num("bulk-batch", 2000),
    bulkInflight: num("bulk-inflight", 2),
    queryPages: num("query-pages", quick ? 500 : 5000),
    queryConcurrency: (get("query-concurrency") ?? "1,4").split(",").map(Number),
    phaseSeconds: num("phase-seconds", quick ? 60 : 600),
    inProcess: bool("in-process", false),
    breakdown: bool("breakdown", true),
    dir: get("dir"),
    keep: bool("keep", false),
    json: get("json"),
    seed: num("seed", 1),
  };
  if (o.queryConcurrency.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error("--query-concurrency must be a list of positive integers");
  }
  if (o.pacedRates.some((r) => !(r === -1 || (Number.isFinite(r) && r > 0)))) {
    throw new Error('--paced-rates must be a list of positive rates or "half"');
  }
  // The paced rows run only with the single publishes.
  const singlesTotal = o.singles === 0 ? 0 : o.singles +
    o.pacedRates.reduce((a, r) => a + (r === -1 ? 20_000 : r) * o.pacedSeconds, 0);
  if (o.sizes.length > 1 && o.sizes[1] < o.sizes[0] + singlesTotal) {
    throw new Error(
      `the second size must be at least the first plus the single publishes (${singlesTotal})`,
    );
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Messages: message i is a pure function of (seed, i), so the gateway and the raw
// baselines store the very same messages, and the bench knows every message's hash.

const PUBSUB = ["/waku/2/rs/0/0", "/waku/2/rs/0/1"];
const CONTENT = [0, 1, 2, 3, 4].map((i) => `/syncgate-bench/1/chat-${i}/proto`);
const PAYLOAD_BYTES = 200;
/** 2026-01-01T00:00:00Z in ns; message i has a timestamp in [BASE + 1000·i, BASE + 1000·i + 999]. */
const BASE_TS = 1_767_225_600_000_000_000n;

let SEED = 1;

function prng(i: number): () => number {
  let a = (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(SEED, 0x85ebca6b)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

interface Meta {
  pubsubTopic: string;
  contentTopic: string;
  timestamp: bigint;
}

/** Topics and timestamp of message i (3/4 of messages on the first pubsub topic). */
function metaAt(i: number, r = prng(i)): Meta {
  return {
    pubsubTopic: r() % 4 === 0 ? PUBSUB[1] : PUBSUB[0],
    contentTopic: CONTENT[r() % CONTENT.length],
    timestamp: BASE_TS + BigInt(i) * 1000n + BigInt(r() % 1000),
  };
}

interface Msg extends Meta {
  message: WakuMessage;
}

function msgAt(i: number): Msg {
  const r = prng(i);
  const meta = metaAt(i, r);
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const view = new DataView(payload.buffer);
  for (let k = 0; k < PAYLOAD_BYTES; k += 4) view.setUint32(k, r());
  return {
    ...meta,
    message: { payload, contentTopic: meta.contentTopic, version: 0, timestamp: meta.timestamp },
  };
}

const hashAt = (i: number) => {
  const m = msgAt(i);
  return messageHash(m.pubsubTopic, m.message);
};

/** nwaku relay JSON of message i, with or without its pubsubTopic field. */
function relayJson(m: Msg, withTopic: boolean): string {
  const topic = withTopic ? `"pubsubTopic":${JSON.stringify(m.pubsubTopic)},` : "";
  return `{${topic}"payload":"${m.message.payload.toBase64()}",` +
    `"contentTopic":${JSON.stringify(m.contentTopic)},"version":0,"timestamp":${m.timestamp}}`;
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers.

class Latencies {
  #a = new Float64Array(1024);
  n = 0;
  add(ms: number): void {
    if (this.n === this.#a.length) {
      const b = new Float64Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.n++] = ms;
  }
  /** Nearest-rank percentile in ms. */
  pct(p: number): number {
    if (this.n === 0) return NaN;
    const s = this.#a.slice(0, this.n).sort();
    return s[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))];
  }
}

/**
 * Bytes this process has written to storage, from /proc/self/io; undefined where that is
 * not readable (Deno needs --allow-all for /proc).
 */
function bytesWritten(): number | undefined {
  try {
    return Number(/write_bytes: (\d+)/.exec(Deno.readTextFileSync("/proc/self/io"))?.[1]);
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) this process has used, all threads. */
function cpuSelf(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Result {
  /** Operations done (messages or pages). */
  ops: number;
  seconds: number;
  rate: number;
  p50?: number;
  p99?: number;
  /** CPU use of the gateway and of this (client) process during the run, in cores. */
  serverCores?: number;
  clientCores?: number;
  /** CPU seconds of an external load generator (wrk), used instead of this process's. */
  clientCpuSeconds?: number;
  /** Bytes this process wrote to disk per operation (only when /proc/self/io is readable). */
  writtenPerOp?: number;
  errors: number;
  note?: string;
}

/** Runs `fn(k)` for k = 0..total-1 on `workers` concurrent loops, bounded by `maxSeconds`. */
async function concurrently(
  workers: number,
  total: number,
  maxSeconds: number,
  fn: (k: number) => Promise<void>,
): Promise<{ done: number; seconds: number; timedOut: boolean }> {
  let next = 0, done = 0;
  const deadline = performance.now() + maxSeconds * 1000;
  let timedOut = false;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(workers, total) }, async () => {
    while (next < total) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const k = next++;
      await fn(k);
      done++;
    }
  }));
  return { done, seconds: (performance.now() - t0) / 1000, timedOut };
}

/** The Result of `ops` operations in `seconds`, with the latencies collected in `lat`. */
function result(
  ops: number,
  seconds: number,
  lat: Latencies,
  errors: number,
  note?: string,
): Result {
  return { ops, seconds, rate: ops / seconds, p50: lat.pct(50), p99: lat.pct(99), errors, note };
}

interface MeasureOptions<T> {
  /** Whether a call went right; false counts an error (warm-up calls run it but do not count). */
  ok?: (value: T, k: number) => boolean;
  /** What to log for each of the first 3 errors. */
  explain?: (value: T) => string;
  /** Warm-up call k is call(warmAt + k); by default the indices after the timed ones. */
  warmAt?: number;
  /** Run the warm-up before the CPU measurement starts instead of inside it. */
  cpuAfterWarmUp?: boolean;
  note?: (run: { done: number; timedOut: boolean }) => string | undefined;
}

/**
 * One measured phase on `conc` concurrent loops: `warm` untimed calls (JIT, connection pool),
 * then calls k = 0..total-1, each phase bounded by `maxSeconds`. `call(k)` does the untimed
 * preparation of call k and returns the part whose latency is recorded. CPU is measured as
 * withCpu(target, ...) does.
 */
async function measure<T>(
  target: Target | undefined,
  conc: number,
  warm: number,
  total: number,
  maxSeconds: number,
  call: (k: number) => () => Promise<T>,
  opts: MeasureOptions<T> = {},
): Promise<Result> {
  const { ok = () => true, warmAt = total } = opts;
  const warmUp = async () => {
    if (warm === 0) return;
    await concurrently(conc, warm, maxSeconds, async (k) => {
      ok(await call(warmAt + k)(), warmAt + k);
    });
  };
  if (opts.cpuAfterWarmUp) await warmUp();
  return await withCpu(target, async () => {
    if (!opts.cpuAfterWarmUp) await warmUp();
    const lat = new Latencies();
    let errors = 0;
    const run = await concurrently(conc, total, maxSeconds, async (k) => {
      const timed = call(k);
      const t0 = performance.now();
      const value = await timed();
      lat.add(performance.now() - t0);
      if (!ok(value, k)) {
        errors++;
        if (opts.explain && errors <= 3) console.error(opts.explain(value));
      }
    });
    return result(run.done, run.seconds, lat, errors, opts.note?.(run));
  });
}

const fmtRate = (r: number) =>
  !Number.isFinite(r) ? "–" : r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1);
const fmtMs = (ms?: number) =>
  ms === undefined || !Number.isFinite(ms) ? "–" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
const fmtN = (n: number) =>
  n >= 1e6 && n % 1e6 === 0
    ? `${n / 1e6}M`
    : n >= 1e3 && n % 1e3 === 0
    ? `${n / 1e3}k`
    : n.toLocaleString("en-US");
const clients = (n: number) => `${n} client${n > 1 ? "s" : ""}`;
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

// ---------------------------------------------------------------------------------------------
// The gateway under test.

interface Target {
  url: string;
  /** A no-op Deno.serve in the gateway's process. */
  bareUrl: string;
  /** false when the gateway runs in this process. */
  separate: boolean;
  /** CPU seconds the gateway's process has used. */
  cpu(): Promise<number>;
  close(): Promise<void>;
}

async function startTarget(kvPath: string, inProcess: boolean): Promise<Target> {
  if (inProcess) {
    const gw: Gateway = await startGateway(
      loadConfig({ SYNCGATE_PORT: "0", SYNCGATE_KV: kvPath, SYNCGATE_LOG: "warn" }),
      createLogger("warn"),
    );
    const bare = bareServer();
    return {
      url: gw.url,
      bareUrl: bare.url,
      separate: false,
      cpu: () => Promise.resolve(cpuSelf()),
      close: () => bare.close().then(() => gw.close()),
    };
  }
  // `--allow-run=deno` names the binary on PATH, which may be a symlink to Deno.execPath().
  const exec = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state ===
      "granted"
    ? Deno.execPath()
    : "deno";
  const child = new Deno.Command(exec, {
    args: [
      "run",
      ...GATEWAY_PERMISSIONS,
      new URL(import.meta.url).pathname,
      "--serve",
      kvPath,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + 60_000;
  while (!/READY (\S+) (\S+)\n/.test(buf)) {
    if (Date.now() > deadline) throw new Error(`Gateway did not start: ${buf}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`Gateway exited before it was ready: ${buf}`);
    buf += value;
  }
  const [, url, bareUrl] = /READY (\S+) (\S+)/.exec(buf)!;
  // After READY, the child's stdout carries only answers to "cpu" requests.
  buf = buf.slice(buf.indexOf("\n", buf.indexOf("READY")) + 1);
  const waiting: ((s: number) => void)[] = [];
  (async () => {
    for (;;) {
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^CPU (\S+)$/.exec(line);
        if (m) waiting.shift()?.(Number(m[1]));
      }
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
    }
    for (const w of waiting.splice(0)) w(NaN);
  })().catch(() => {});
  const stdin = child.stdin.getWriter();
  return {
    url,
    bareUrl,
    separate: true,
    cpu: async () => {
      const { promise, resolve } = Promise.withResolvers<number>();
      waiting.push(resolve);
      await stdin.write(new TextEncoder().encode("cpu\n"));
      return await promise;
    },
    close: async () => {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 20_000);
      await child.status;
      clearTimeout(timer);
    },
  };
}

/** Measures CPU of the gateway and this process around `fn`. */
async function withCpu<T extends Result>(target: Target | undefined, fn: () => Promise<T>) {
  const s0 = target ? await target.cpu() : NaN, c0 = cpuSelf();
  const t0 = performance.now();
  const r = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c1 = cpuSelf();
  if (r.clientCpuSeconds !== undefined) {
    r.serverCores = target ? (await target.cpu() - s0) / wall : undefined;
    r.clientCores = r.clientCpuSeconds / wall;
  } else if (target?.separate) {
    r.serverCores = (await target.cpu() - s0) / wall;
    r.clientCores = (c1 - c0) / wall;
  } else if (target) {
    r.serverCores = (c1 - c0) / wall; // client and server share this process
  } else {
    r.clientCores = (c1 - c0) / wall;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Gateway workloads over HTTP.

/** A Result from a wrk run. */
function fromWrk(w: WrkResult, what: string, note?: string): Result {
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

/** The single-publish request of message i (path by its pubsub topic, body without it). */
function publishRequest(m: Msg, body = relayJson(m, false)): WrkRequest {
  return {
    method: "POST",
    path: `/relay/v1/messages/${encodeURIComponent(m.pubsubTopic)}`,
    body,
  };
}

/** Bulk-publishes messages by index (untimed), in requests of `--bulk-batch`. */
async function bulkPublish(t: Target, indices: readonly number[], o: Options): Promise<void> {
  for (let i = 0; i < indices.length; i += o.bulkBatch) {
    const body = `[${indices.slice(i, i + o.bulkBatch).map((j) => relayJson(msgAt(j), true))}]`;
    const res = await postJson(`${t.url}/relay/v1/bulk`, body);
    await res.text();
    if (res.status !== 200) throw new Error(`bulk fill: HTTP ${res.status}`);
  }
}

/** POSTs a JSON body; `timeoutMs` undefined = no time limit. */
function postJson(url: string, body: string, timeoutMs?: number): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
  });
}

/** POST /relay/v1/messages/{pubsubTopic of m} with `body`. */
function postMessage(t: Target, m: Msg, body: string): Promise<Response> {
  return postJson(
    `${t.url}/relay/v1/messages/${encodeURIComponent(m.pubsubTopic)}`,
    body,
    60_000,
  );
}

/**
 * Bulk-publishes messages [from, to) in JSON arrays of `batch`, `inflight` requests at a time;
 * `ephemeral` marks them all ephemeral (everything but storage).
 */
function httpBulk(
  t: Target,
  from: number,
  to: number,
  o: Options,
  ephemeral = false,
): Promise<Result> {
  return withCpu(t, async () => {
    const lat = new Latencies();
    let errors = 0;
    const batches = Math.ceil((to - from) / o.bulkBatch);
    // Fills get a longer limit than other phases: later phases need the whole store.
    const run = await concurrently(o.bulkInflight, batches, o.phaseSeconds * 6, async (b) => {
      const lo = from + b * o.bulkBatch, hi = Math.min(to, lo + o.bulkBatch);
      const items: string[] = [];
      for (let i = lo; i < hi; i++) {
        const json = relayJson(msgAt(i), true);
        items.push(ephemeral ? json.slice(0, -1) + `,"ephemeral":true}` : json);
      }
      const body = `[${items.join(",")}]`;
      const t0 = performance.now();
      const res = await postJson(`${t.url}/relay/v1/bulk`, body, 120_000);
      const text = await res.text();
      lat.add(performance.now() - t0);
      if (res.status !== 200) {
        errors++;
        if (errors <= 3) console.error(`bulk: HTTP ${res.status}: ${text.slice(0, 300)}`);
        return;
      }
      const r = JSON.parse(text) as { stored: number; ephemeral: number; messageHashes: string[] };
      if ((ephemeral ? r.ephemeral : r.stored) !== hi - lo) errors++;
      // Spot-check that the gateway hashes as we do (RFC 14).
      if (r.messageHashes[0] !== "0x" + hashAt(lo).toHex()) {
        errors++;
        if (errors <= 3) console.error(`bulk: unexpected hash for message ${lo}`);
      }
    });
    const ops = Math.min(to - from, run.done * o.bulkBatch);
    return result(
      ops,
      run.seconds,
      lat,
      errors,
      run.timedOut ? "stopped at time limit" : undefined,
    );
  });
}

/** `publishers` concurrent clients publish messages [from, to) one per request. */
function httpSingles(t: Target, from: number, to: number, o: Options): Promise<Result> {
  return o.client === "wrk" ? wrkSingles(t, from, to, o) : fetchSingles(t, from, to, o);
}

/**
 * Single publishes by wrk: `publishers` connections for `--wrk-seconds` over the messages
 * [from, to) in order (after a 2 s warm-up on its first messages); whatever wrk did not
 * reach is then bulk-published (untimed), so [from, to) is stored either way. A re-sent
 * message is stored once, so wrk's wrap-around is harmless; the note says if it happened.
 */
async function wrkSingles(t: Target, from: number, to: number, o: Options): Promise<Result> {
  const warm = Math.min(2000, Math.floor((to - from) / 10));
  const reqs = (lo: number, hi: number) =>
    Array.from({ length: hi - lo }, (_, k) => publishRequest(msgAt(lo + k)));
  await runWrk(t.url, reqs(from, from + warm), { connections: o.publishers, seconds: 2 });
  const list = reqs(from + warm, to);
  const r = await withCpu(t, async () => {
    const w = await runWrk(t.url, list, { connections: o.publishers, seconds: o.wrkSeconds });
    return fromWrk(
      w,
      "singles",
      `${o.publishers} connections (wrk), ${o.wrkSeconds} s after a 2 s warm-up` +
        (w.sent > list.length ? `; wrapped around the ${fmtN(list.length)} messages` : ""),
    );
  });
  // Requests still in flight when wrk stopped may or may not have been stored: re-send them.
  const reached = from + warm + Math.max(0, r.ops - o.publishers);
  await bulkPublish(t, Array.from({ length: Math.max(0, to - reached) }, (_, k) => reached + k), o);
  return r;
}

function fetchSingles(t: Target, from: number, to: number, o: Options): Promise<Result> {
  const post = async (i: number) => {
    const m = msgAt(i);
    const res = await postMessage(t, m, relayJson(m, false));
    const text = await res.text();
    return res.status === 200 && text.includes(hashAt(i).toHex());
  };
  // Warm-up (stored, not timed, not in the CPU figures): messages [from, from + warm).
  const warm = Math.min(2000, Math.floor((to - from) / 10));
  const first = from + warm;
  return measure(t, o.publishers, warm, to - first, o.phaseSeconds, (k) => () => post(first + k), {
    ok: (stored) => stored,
    warmAt: -warm,
    cpuAfterWarmUp: true,
    note: (run) =>
      `${o.publishers} publishers, ${fmtN(run.done)} msgs after ${fmtN(warm)} warm-up` +
      (run.timedOut ? "; stopped at time limit" : ""),
  });
}

/**
 * Open-loop single publishes: `publishers` clients together offer `rate` msgs/s for
 * `seconds` (message k is due at start + k/rate; each client sends its next message when it
 * is due or, if it is behind, as soon as its previous one is answered). Latency counts from
 * the due time, so time spent waiting behind a slow server is included (no coordinated
 * omission). Messages not sent by the time limit are bulk-published afterwards, untimed.
 */
async function httpSinglesPaced(
  t: Target,
  from: number,
  rate: number,
  o: Options,
): Promise<Result> {
  const count = Math.round(rate * o.pacedSeconds);
  const gap = 1000 / rate;
  const sent = new Uint8Array(count);
  let errors = 0, done = 0, timedOut = false;
  const lat = new Latencies();
  const r = await withCpu(t, async () => {
    const start = performance.now() + 20;
    const deadline = start + o.phaseSeconds * 1000;
    await Promise.all(Array.from({ length: Math.min(o.publishers, count) }, async (_, p) => {
      for (let k = p; k < count; k += o.publishers) {
        const due = start + k * gap;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        if (performance.now() > deadline) {
          timedOut = true;
          return;
        }
        const m = msgAt(from + k);
        const res = await postMessage(t, m, relayJson(m, false));
        await res.text();
        lat.add(performance.now() - due);
        sent[k] = 1;
        done++;
        if (res.status !== 200) errors++;
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    return result(
      done,
      seconds,
      lat,
      errors,
      `offered ${fmtRate(rate)}/s for ${o.pacedSeconds} s by ${o.publishers} publishers` +
        (timedOut ? "; stopped at time limit" : ""),
    );
  });
  const missing: number[] = [];
  sent.forEach((v, k) => v || missing.push(from + k));
  await bulkPublish(t, missing, o);
  return r;
}

/**
 * The HTTP path without storage, at the single-publish concurrency: GET /health, or
 * POST /relay/v1/messages of ephemeral messages (validated, hashed, sent live, not stored).
 */
async function httpFloor(
  t: Target,
  what: "bare" | "health" | "ephemeral",
  o: Options,
): Promise<Result> {
  if (o.client === "wrk") {
    const list: WrkRequest[] = Array.from({ length: 1000 }, (_, k) => {
      const m = msgAt(1_000_000_000 + k);
      if (what === "bare") return { method: "POST", path: "/", body: relayJson(m, false) };
      if (what === "health") return { method: "GET", path: "/health" };
      return publishRequest(m, relayJson(m, false).slice(0, -1) + `,"ephemeral":true}`);
    });
    const base = what === "bare" ? t.bareUrl : t.url;
    await runWrk(base, list, { connections: o.publishers, seconds: 2 });
    return await withCpu(t, async () =>
      fromWrk(
        await runWrk(base, list, { connections: o.publishers, seconds: o.wrkSeconds }),
        what,
      ));
  }
  const req = (k: number) => {
    if (what === "bare") {
      return postJson(t.bareUrl, relayJson(msgAt(1_000_000_000 + k), false), 60_000);
    }
    if (what === "health") return fetch(`${t.url}/health`, { signal: AbortSignal.timeout(60_000) });
    const m = msgAt(1_000_000_000 + k);
    return postMessage(t, m, relayJson(m, false).slice(0, -1) + `,"ephemeral":true}`);
  };
  const total = Math.max(1000, o.singles), warm = Math.min(2000, total / 10);
  return measure(t, o.publishers, warm, total, o.phaseSeconds, (k) => async () => {
    const res = await req(k);
    await res.text();
    return res.status;
  }, { ok: (status) => status === 200, cpuAfterWarmUp: true });
}

/** Random positions for page queries: message indices with a full page after them. */
function positions(n: number, stored: number, seed: number): number[] {
  const r = prng(0x7fff0000 + seed);
  return Array.from({ length: n }, () => r() % (stored - 1500));
}

/** Index of the first message after i on content topic ct. */
function nextOnTopic(i: number, ct: string): number {
  for (let j = i + 1;; j++) if (metaAt(j).contentTopic === ct) return j;
}

/** GET /store/v3/messages pages of 100 from a cursor at a random stored message. */
async function httpPages(
  t: Target,
  stored: number,
  o: Options,
  filtered: boolean,
  conc: number,
): Promise<Result> {
  const total = o.queryPages;
  const warm = Math.min(200, total);
  const pos = positions(total + warm, stored, filtered ? 2 : 1);
  const cts = pos.map((_, k) => CONTENT[k % CONTENT.length]);
  // Precompute cursors and the expected first message of each page (untimed).
  const cursors = pos.map((i) => "0x" + hashAt(i).toHex());
  const firsts = pos.map((i, k) => hashAt(filtered ? nextOnTopic(i, cts[k]) : i + 1).toHex());
  const urlOf = (k: number) =>
    `${t.url}/store/v3/messages?pageSize=100&includeData=true&cursor=${cursors[k]}` +
    (filtered ? `&contentTopics=${encodeURIComponent(cts[k])}` : "");
  const query = (k: number) => {
    const url = urlOf(k);
    return async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      return { url, status: res.status, text: await res.text() };
    };
  };
  // The page must start right after the cursor: check every page's first hash, and
  // fully parse every 10th page.
  const ok = ({ status, text }: { status: number; text: string }, k: number) => {
    let ok = status === 200 &&
      text.indexOf(`"messageHash":"0x${firsts[k]}"`) === text.indexOf(`"messageHash"`);
    if (ok && k % 10 === 0) {
      const page = JSON.parse(text) as {
        messages: { message: { contentTopic: string } }[];
        paginationCursor?: string;
      };
      ok = page.messages.length === 100 && page.paginationCursor !== undefined &&
        (!filtered || page.messages.every((m) => m.message.contentTopic === cts[k]));
    }
    return ok;
  };
  const checks = {
    ok,
    explain: ({ url, text }: { url: string; text: string }) =>
      `query: bad page for ${url}: ${text.slice(0, 300)}`,
    note: (run: { timedOut: boolean }) => run.timedOut ? "stopped at time limit" : undefined,
  };
  if (o.client === "fetch") {
    return await measure(t, conc, warm, total, o.phaseSeconds, query, checks);
  }
  // wrk checks only the status: the warm-up pages, fetched and checked as above, vouch for
  // the content of answers to the same kind of query.
  const checked = await measure(t, conc, 0, warm, o.phaseSeconds, (k) => query(total + k), {
    ...checks,
    ok: (v, k) => ok(v, total + k),
  });
  const list: WrkRequest[] = pos.slice(0, total).map((_, k) => ({
    method: "GET",
    path: urlOf(k).slice(t.url.length),
  }));
  const r = await withCpu(t, async () =>
    fromWrk(
      await runWrk(t.url, list, { connections: conc, seconds: o.wrkSeconds }),
      "query",
      `wrk, ${o.wrkSeconds} s, after ${warm} checked pages by fetch`,
    ));
  r.errors += checked.errors;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Raw KV baselines.

const RAW = "m";

/** Commits one atomic; raw baselines run on private files, so a failure is a bug. */
async function commitRaw(op: Deno.AtomicOperation): Promise<void> {
  const res = await op.commit();
  if (!res.ok) throw new Error("raw KV commit failed a check");
}

/** Which raw layout a run writes. */
type RawLayout =
  /** One key per message: [m, timestamp, hash] → protobuf WakuMessage. The minimum. */
  | "one"
  /** The three full-record time indexes of the gateway ("t", "tp", "tc"), nothing else. */
  | "three"
  /** The gateway's publish commit (storage/waku_repo.ts), without the deferred hash index. */
  | "gateway-commit"
  /** The gateway's publish commit plus the deferred move of "q" entries into "h". */
  | "gateway"
  /** Record by time + a hash key written directly (random B-tree position), checked. */
  | "direct-hash"
  /** The previous layout: checked hash key + five full-record indexes. */
  | "previous";

/** The store entry record the gateway keeps for message i (storage/waku_record.ts). */
function recordOf(m: Msg, hash: Uint8Array, receivedTime: bigint): Uint8Array {
  const rec: StoredMessage = { hash, pubsubTopic: m.pubsubTopic, receivedTime, message: m.message };
  return encodeRecord(rec);
}

/**
 * Moves the "q" backlog into the "h" hash index the way WakuRepo.indexPending does: up to
 * INDEX_BATCH entries, sorted by hash, 495 per commit (delete + set each, no checks).
 */
async function rawIndexPending(kv: Deno.Kv): Promise<number> {
  const backlog: Deno.KvEntry<Uint8Array>[] = [];
  for await (
    const e of kv.list<Uint8Array>({ prefix: ["waku", "q"] }, {
      limit: INDEX_BATCH,
      batchSize: 1000,
    })
  ) backlog.push(e);
  backlog.sort((a, b) => compareBytes(a.key[3] as Uint8Array, b.key[3] as Uint8Array));
  const per = Math.floor((1000 - 10) / 2);
  for (let i = 0; i < backlog.length; i += per) {
    const op = kv.atomic();
    for (const e of backlog.slice(i, i + per)) {
      op.delete(e.key);
      op.set(
        ["waku", "h", e.key[3] as Uint8Array],
        packInt64(unpackInt64(e.value)[0], e.key[2] as bigint),
      );
    }
    await commitRaw(op);
  }
  return backlog.length;
}

/**
 * Writes messages [from, to) to raw KV, `perCommit` messages per atomic; times only the
 * KV calls (message generation, hashing and encoding are excluded), so the raw rate is
 * the KV floor for that layout.
 */
async function rawIngest(
  kv: Deno.Kv,
  layout: RawLayout,
  from: number,
  to: number,
  perCommit: number,
): Promise<Result> {
  let kvMs = 0;
  const lat = new Latencies();
  const c0 = cpuSelf(), w0 = performance.now(), b0 = bytesWritten();
  let sinceIndex = 0;
  for (let lo = from; lo < to; lo += perCommit) {
    const hi = Math.min(to, lo + perCommit);
    const op = kv.atomic();
    const counts = new Map<string, bigint>();
    for (let i = lo; i < hi; i++) {
      const m = msgAt(i);
      const hash = messageHash(m.pubsubTopic, m.message);
      if (layout === "one") {
        op.set([RAW, m.timestamp, hash], encodeWakuMessage(m.message));
        continue;
      }
      const ts = m.timestamp, ps = m.pubsubTopic, ct = m.contentTopic, rt = BASE_TS + BigInt(i);
      const value = recordOf(m, hash, rt);
      const t: Deno.KvKey = ["waku", "t", ts, hash];
      switch (layout) {
        case "three":
          op.set(t, value).set(["waku", "tp", ps, ts, hash], value);
          op.set(["waku", "tc", ct, ts, hash], value);
          break;
        case "gateway-commit":
        case "gateway": {
          const small = packInt64(ts);
          op.check({ key: t, versionstamp: null });
          op.set(t, value).set(["waku", "tp", ps, ts, hash], value);
          op.set(["waku", "tc", ct, ts, hash], value);
          op.set(["waku", "r", rt, hash], small).set(["waku", "rc", ct, rt, hash], small);
          op.set(["waku", "q", rt, hash], small);
          break;
        }
        case "direct-hash":
          op.check({ key: ["waku", "h", hash], versionstamp: null });
          op.set(["waku", "h", hash], packInt64(ts, rt)).set(t, value);
          break;
        case "previous":
          op.check({ key: ["waku", "h", hash], versionstamp: null });
          op.set(["waku", "h", hash], [ts, rt]).set(t, value);
          op.set(["waku", "tp", ps, ts, hash], value).set(["waku", "tc", ct, ts, hash], value);
          op.set(["waku", "r", rt, hash], value).set(["waku", "rc", ct, rt, hash], value);
          break;
      }
      counts.set(ps, (counts.get(ps) ?? 0n) + 1n);
    }
    if (layout !== "one" && layout !== "three") {
      for (const [t, n] of counts) op.sum(["waku", "n", t], n);
    }
    const t0 = performance.now();
    await commitRaw(op);
    const ms = performance.now() - t0;
    kvMs += ms;
    lat.add(ms);
    sinceIndex += hi - lo;
    if (layout === "gateway" && (sinceIndex >= 20_000 || hi === to)) {
      // The gateway's indexer runs beside ingest (every 200 ms); here, every 20,000 messages.
      const t1 = performance.now();
      while (await rawIndexPending(kv) === INDEX_BATCH) { /* more */ }
      kvMs += performance.now() - t1;
      sinceIndex = 0;
    }
  }
  const wall = (performance.now() - w0) / 1000;
  return {
    ops: to - from,
    seconds: kvMs / 1000,
    rate: (to - from) / (kvMs / 1000),
    p50: lat.pct(50),
    p99: lat.pct(99),
    clientCores: (cpuSelf() - c0) / wall,
    writtenPerOp: b0 === undefined ? undefined : (bytesWritten()! - b0) / (to - from),
    errors: 0,
  };
}

/** Raw `kv.list` pages of 100 from random start keys at the same store size. */
function rawPages(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  stored: number,
  o: Options,
  conc: number,
): Promise<Result> {
  const total = o.queryPages, warm = Math.min(200, total);
  const pos = positions(total + warm, stored, 3);
  const list = (k: number) => {
    const start = [...prefix, BASE_TS + BigInt(pos[k]) * 1000n];
    return async () => {
      let n = 0;
      for await (const _ of kv.list({ prefix, start }, { limit: 100, batchSize: 100 })) n++;
      return n;
    };
  };
  return measure(undefined, conc, warm, total, o.phaseSeconds, list, { ok: (n) => n === 100 });
}

// ---------------------------------------------------------------------------------------------
// Breakdown ladders: one layer added per row.

/** The gateway's service over the KV file at `path`, in this process (no HTTP). */
async function openService(path: string) {
  const metrics = createMetrics();
  const store = await openStore(path, metrics);
  const svc = new WakuService(new WakuRepo(store), new LiveHub(new LocalNotifier(), metrics), {
    maxMessageBytes: 150 * 1024,
    retention: parseRetention(""),
    retentionIntervalMs: 60_000,
    log: createLogger("warn"),
  });
  return { store, svc };
}

/** Ingest of messages [0, n) into fresh stores, from raw KV up to the service. */
async function ingestLadder(dir: string, n: number, o: Options, settleAll: () => Promise<void>) {
  const rows: { label: string; r: Result }[] = [];
  let singles: Result | undefined;
  const fresh = async (name: string, fn: (kv: Deno.Kv) => Promise<Result>) => {
    await settleAll();
    const path = `${dir}/${name}.kv`;
    const kv = await Deno.openKv(path);
    try {
      return await fn(kv);
    } finally {
      kv.close();
      await removeKv(path);
    }
  };
  const raw = async (label: string, name: string, layout: RawLayout) => {
    log(`breakdown: ${label}`);
    rows.push({ label, r: await fresh(name, (kv) => rawIngest(kv, layout, 0, n, 100)) });
  };
  await raw("raw KV, 1 key/msg, 100 msgs/commit", "l1", "one");
  await raw(
    'raw KV, 3 keys/msg: the full-record time indexes "t", "tp", "tc" only',
    "l3",
    "three",
  );
  await raw(
    "raw KV, the gateway's publish commit: check + 3 records + 3 small keys + sum",
    "lgc",
    "gateway-commit",
  );
  await raw(
    "(for contrast) raw KV, 2 keys/msg: record + hash key written directly, checked",
    "ldh",
    "direct-hash",
  );
  await raw(
    "(for contrast) raw KV, the previous layout: checked hash key + 5 full-record indexes",
    "lprev",
    "previous",
  );

  // WakuService.publishMany in this process, no HTTP; its hash indexer is run separately.
  log(`breakdown: WakuService.publishMany`);
  await settleAll();
  const path = `${dir}/lsvc.kv`;
  const { store, svc } = await openService(path);
  try {
    let ms = 0;
    const c0 = cpuSelf(), w0 = performance.now(), b0 = bytesWritten();
    for (let lo = 0; lo < n; lo += o.bulkBatch) {
      const pubs = [];
      for (let i = lo; i < Math.min(n, lo + o.bulkBatch); i++) {
        const m = msgAt(i);
        pubs.push({ pubsubTopic: m.pubsubTopic, message: m.message });
      }
      const t0 = performance.now();
      await svc.publishMany(pubs.map((p) => svc.validate(p)));
      ms += performance.now() - t0;
    }
    const wall = (performance.now() - w0) / 1000;
    const b1 = bytesWritten();
    rows.push({
      label: `WakuService validate + publishMany(${
        fmtN(o.bulkBatch)
      }) in-process (+ hashing, JSON rendering; hash index not run)`,
      r: {
        ops: n,
        seconds: ms / 1000,
        rate: n / (ms / 1000),
        errors: 0,
        clientCores: (cpuSelf() - c0) / wall,
        writtenPerOp: b0 === undefined ? undefined : (b1! - b0) / n,
      },
    });
    log(`breakdown: WakuService.indexPending over the backlog`);
    const t0 = performance.now();
    await svc.indexPending();
    const indexMs = performance.now() - t0;
    rows.push({
      label: "+ WakuService.indexPending() over the whole backlog afterwards",
      r: {
        ops: n,
        seconds: (ms + indexMs) / 1000,
        rate: n / ((ms + indexMs) / 1000),
        errors: 0,
        writtenPerOp: b1 === undefined ? undefined : (bytesWritten()! - b0!) / n,
      },
    });
    if (o.singles > 0) {
      // Then concurrent single publishes on the same store: the group commit without HTTP.
      log(`breakdown: ${o.publishers} concurrent WakuService.publish callers`);
      singles = await measure(undefined, o.publishers, 0, o.singles, o.phaseSeconds, (k) => {
        const m = msgAt(n + k);
        return () => svc.publish(svc.validate({ pubsubTopic: m.pubsubTopic, message: m.message }));
      });
    }
  } finally {
    await svc.stop();
    store.kv.close();
    await removeKv(path);
  }
  return { ingest: rows, singles };
}

/**
 * Page queries against the gateway's own KV file (opened a second time, read-only use),
 * adding one layer per row: raw list of the ["waku","t"] index; + the cursor lookup;
 * WakuService.storeQuery.
 */
async function queryLadder(kvPath: string, stored: number, o: Options, conc: number) {
  const rows: { label: string; r: Result }[] = [];
  const { store, svc } = await openService(kvPath);
  const total = o.queryPages, warm = Math.min(200, total);
  const pos = positions(total + warm, stored, 1);
  const hashes = pos.map(hashAt);
  const metas = pos.map((i) => metaAt(i));
  /** Pages of 100 fetched by `fn(k)`, which returns how many entries it got. */
  const pages = (fn: (k: number) => Promise<number>) =>
    measure(undefined, conc, warm, total, o.phaseSeconds, (k) => () => fn(k), {
      ok: (n) => n === 100,
    });
  const listAfter = async (k: number, limit: number) => {
    let n = 0;
    const start = ["waku", "t", metas[k].timestamp, hashes[k], new Uint8Array(0)];
    for await (
      const _ of store.kv.list({ prefix: ["waku", "t"], start }, { limit, batchSize: limit })
    ) n++;
    return n;
  };
  try {
    log(`breakdown: raw list of 100 on the gateway's "t" index at ${fmtN(stored)}, ${conc}`);
    rows.push({
      label: 'raw KV list of 100 on the gateway\'s ["waku","t"] index (JSON records)',
      r: await pages((k) => listAfter(k, 100)),
    });
    log(`breakdown: + cursor lookup`);
    rows.push({
      label: '+ cursor lookup (get ["waku","h",hash]) and list of 101, as WakuRepo does',
      r: await pages(async (k) => {
        await store.kv.get(["waku", "h", hashes[k]]);
        return Math.min(100, await listAfter(k, 101));
      }),
    });
    log(`breakdown: WakuService.storeQuery`);
    rows.push({
      label: "WakuService.storeQuery in-process",
      r: await pages(async (k) => {
        const page = await svc.storeQuery({
          contentTopics: [],
          hashes: [],
          cursor: hashes[k],
          pageSize: 100,
          ascending: true,
        });
        return page.records.length;
      }),
    });
  } finally {
    store.kv.close();
  }
  return rows;
}

/**
 * Flushes the named KV files to disk, so the next phase does not pay for the writeback of
 * the one before.
 */
async function settle(paths: string[]): Promise<void> {
  for (const p of paths) {
    for (const suffix of ["", "-wal"]) {
      try {
        const f = await Deno.open(p + suffix, { read: true });
        try {
          await f.sync();
        } finally {
          f.close();
        }
      } catch { /* not there */ }
    }
  }
}

/** Reads files (and their WALs) once, so the OS caches them; returns the seconds it took. */
async function warmFiles(paths: string[]): Promise<number> {
  const t0 = performance.now();
  const buf = new Uint8Array(1 << 20);
  for (const p of paths) {
    for (const suffix of ["", "-wal"]) {
      try {
        const f = await Deno.open(p + suffix, { read: true });
        try {
          while ((await f.read(buf)) !== null) { /* reading is the point */ }
        } finally {
          f.close();
        }
      } catch { /* not there */ }
    }
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Waits until the gateway's hash-index backlog (["waku","q"] entries, see
 * storage/waku_repo.ts) is empty; returns its size when first seen and the wait.
 */
async function waitForHashIndex(
  kvPath: string,
  maxSeconds: number,
): Promise<{ backlog: number; seconds: number }> {
  const kv = await Deno.openKv(kvPath);
  const t0 = performance.now();
  let first: number | undefined;
  try {
    for (;;) {
      let n = 0;
      for await (const _ of kv.list({ prefix: ["waku", "q"] }, { batchSize: 1000 })) n++;
      first ??= n;
      if (n === 0 || performance.now() - t0 > maxSeconds * 1000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    kv.close();
  }
  return { backlog: first, seconds: (performance.now() - t0) / 1000 };
}

/** A short fingerprint of the gateway's source files, so results name the code they measured. */
async function sourceFingerprint(): Promise<string> {
  const root = new URL("..", import.meta.url).pathname;
  const files: string[] = ["app.ts", "config.ts", "error.ts", "gateway.ts", "main.ts"];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(root + dir)) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
    }
  };
  for (const d of ["lib", "middleware", "protocols", "routes", "services", "storage"]) {
    await walk(d).catch(() => {});
  }
  files.sort();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const bytes = await Deno.readFile(root + f).catch(() => new Uint8Array(0));
    parts.push(new TextEncoder().encode(f + "\0"), bytes);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) all.set(p, (off += p.length) - p.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return `${digest.toHex().slice(0, 12)} over ${files.length} files`;
}

async function removeKv(path: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    await Deno.remove(path + suffix).catch(() => {});
  }
}

async function fileMB(path: string): Promise<number> {
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    bytes += await Deno.stat(path + suffix).then((s) => s.size).catch(() => 0);
  }
  return bytes / 1e6;
}

// ---------------------------------------------------------------------------------------------
// The run.

interface Row {
  measurement: string;
  size: string;
  gateway: Result;
  baselineLabel: string;
  baseline?: Result;
  /** Minimum ratio gateway/baseline, and latency and rate limits; undefined = informational. */
  target?: { ratio?: number; rate?: number; p99?: number; text: string };
}

function verdict(row: Row): string {
  const t = row.target;
  if (!t) return "info";
  if (row.gateway.errors > 0) return "MISS (errors)";
  const misses: string[] = [];
  if (t.ratio !== undefined && row.baseline && row.gateway.rate / row.baseline.rate < t.ratio) {
    misses.push("ratio");
  }
  if (t.rate !== undefined && row.gateway.rate < t.rate) misses.push("rate");
  if (t.p99 !== undefined && (row.gateway.p99 ?? Infinity) > t.p99) misses.push("p99");
  return misses.length ? `**MISS** (${misses.join(", ")})` : "PASS";
}

function table(rows: Row[]): string {
  const out = [
    "| Measurement | Store size | syncgate | p50 / p99 ms | Baseline | Baseline rate | Ratio | Target | Result |",
    "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
  ];
  for (const r of rows) {
    const unit = r.measurement.includes("quer") ? "pages/s" : "msgs/s";
    const ratio = r.baseline ? (r.gateway.rate / r.baseline.rate).toFixed(2) + "×" : "–";
    out.push(
      `| ${r.measurement} | ${r.size} | ${fmtRate(r.gateway.rate)} ${unit} | ${
        fmtMs(r.gateway.p50)
      } / ${fmtMs(r.gateway.p99)} | ${r.baselineLabel} | ${
        r.baseline
          ? `${fmtRate(r.baseline.rate)} ${unit}` +
            (r.baseline.p99 !== undefined && unit === "pages/s"
              ? ` (p50/p99 ${fmtMs(r.baseline.p50)} / ${fmtMs(r.baseline.p99)} ms)`
              : "")
          : "–"
      } | ${ratio} | ${r.target?.text ?? "–"} | ${verdict(r)} |`,
    );
  }
  return out.join("\n");
}

function ladderTable(title: string, unit: string, rows: { label: string; r: Result }[]): string {
  const io = rows.some((x) => x.r.writtenPerOp !== undefined);
  const out = [
    `| ${title} | Rate | p50 / p99 ms | vs first row | CPU cores (client / server) |` +
    (io ? " KiB written/msg |" : ""),
    "| --- | ---: | ---: | ---: | ---: |" + (io ? " ---: |" : ""),
  ];
  const first = rows[0]?.r.rate ?? NaN;
  const cores = (c?: number) => c !== undefined && Number.isFinite(c) ? c.toFixed(2) : "–";
  for (const { label, r } of rows) {
    out.push(
      `| ${label} | ${fmtRate(r.rate)} ${unit} | ${fmtMs(r.p50)} / ${fmtMs(r.p99)} | ${
        (r.rate / first).toFixed(2)
      }× | ${cores(r.clientCores)} / ${cores(r.serverCores)} |` +
        (io ? ` ${r.writtenPerOp === undefined ? "–" : (r.writtenPerOp / 1024).toFixed(1)} |` : ""),
    );
  }
  return out.join("\n");
}

async function main() {
  const o = await parseOptions(Deno.args);
  SEED = o.seed;
  const dir = o.dir ?? await Deno.makeTempDir({ prefix: "syncgate-bench-" });
  await Deno.mkdir(dir, { recursive: true });
  const cpu = os.cpus()[0]?.model ?? "unknown";
  const env = `${navigator.hardwareConcurrency} cores (${cpu}), Deno ${Deno.version.deno}, ` +
    `V8 ${Deno.version.v8}, ${Deno.build.os}/${Deno.build.arch}`;
  log(`syncgate Waku benchmark — ${env}`);
  log(`options: ${JSON.stringify({ ...o, dir })}`);
  const fingerprint = await sourceFingerprint();
  log(`gateway source fingerprint: ${fingerprint}`);

  const gwPath = `${dir}/gateway.kv`, raw1Path = `${dir}/raw1.kv`, rawGwPath = `${dir}/raw6.kv`;
  for (const p of [gwPath, raw1Path, rawGwPath]) await removeKv(p);
  // A directory we made is removed whole; in a --dir we remove only the files we wrote.
  const cleanup = async () => {
    if (o.keep) return;
    if (o.dir === undefined) await Deno.remove(dir, { recursive: true });
    else for (const p of [gwPath, raw1Path, rawGwPath]) await removeKv(p);
  };
  const target = await startTarget(gwPath, o.inProcess).catch(async (e) => {
    await cleanup().catch(() => {});
    throw e;
  });
  log(`gateway at ${target.url} (${o.inProcess ? "in this process" : "own process"})`);
  const raw1 = await Deno.openKv(raw1Path);
  const rawGw = await Deno.openKv(rawGwPath);
  const settleAll = () => settle([gwPath, raw1Path, rawGwPath]);
  const rows: Row[] = [];
  const ingestRows: Record<string, { gw: Result; raw1: Result; rawGw: Result }> = {};
  let ingestLadderRows: { label: string; r: Result }[] = [];
  const queryLadderRows: { conc: number; rows: { label: string; r: Result }[] }[] = [];
  const singlesLadderRows: { label: string; r: Result }[] = [];
  let singlesRow: Row | undefined;
  let ephemeralBulk: Result | undefined;
  let singlesBaseline: Result | undefined;
  const t0 = performance.now();

  try {
    let stored = 0;
    for (let s = 0; s < o.sizes.length; s++) {
      const size = o.sizes[s];
      const seg = `${fmtN(stored)}→${fmtN(size)}`;
      log(
        `bulk ingest ${seg} via HTTP (${fmtN(o.bulkBatch)}/request, ${o.bulkInflight} in flight)`,
      );
      await settleAll();
      const gw = await httpBulk(target, stored, size, o);
      if (gw.ops < size - stored) throw new Error(`bulk fill stopped early: ${gw.note}`);
      log(
        `  gateway ${fmtRate(gw.rate)} msgs/s; server ${gw.serverCores?.toFixed(2)} cores, client ${
          gw.clientCores?.toFixed(2)
        }`,
      );
      const idx = await waitForHashIndex(gwPath, o.phaseSeconds);
      log(
        `  hash-index backlog ${fmtN(idx.backlog)} at the end, drained in ${
          idx.seconds.toFixed(1)
        } s`,
      );
      await settleAll();
      log(`bulk ingest ${seg} raw KV, 1 key/msg, 500/commit`);
      const r1 = await rawIngest(raw1, "one", stored, size, 500);
      log(`  raw ${fmtRate(r1.rate)} msgs/s`);
      await settleAll();
      log(`bulk ingest ${seg} raw KV, gateway layout, 100/commit`);
      const r6 = await rawIngest(rawGw, "gateway", stored, size, 100);
      log(`  raw (gateway layout) ${fmtRate(r6.rate)} msgs/s`);
      ingestRows[seg] = { gw, raw1: r1, rawGw: r6 };
      singlesBaseline ??= r1;
      const bulkName = `Bulk ingest (POST /relay/v1/bulk, ${fmtN(o.bulkBatch)}/req)`;
      rows.push({
        measurement: bulkName,
        size: seg,
        gateway: gw,
        baselineLabel: "raw KV `set`, 1 key/msg, 500/commit",
        baseline: r1,
        target: { ratio: 0.8, text: "≥ 0.8× raw" },
      });
      rows.push({
        measurement: bulkName,
        size: seg,
        gateway: gw,
        baselineLabel: "2nd baseline: raw KV doing the gateway's writes (publish commit of " +
          "check + 3 records + 3 small keys + sum, 100 msgs/commit; plus the deferred hash index)",
        baseline: r6,
      });
      const withIdx = gw.ops / (gw.seconds + idx.seconds);
      rows.push({
        measurement: `${bulkName}, until the hash index has caught up`,
        size: seg,
        gateway: { ...gw, rate: withIdx, p50: undefined, p99: undefined },
        baselineLabel: "raw KV `set`, 1 key/msg, 500/commit",
        baseline: r1,
      });
      stored = size;
      log(`  gateway KV file ${(await fileMB(gwPath)).toFixed(0)} MB`);

      await settleAll();
      // Queries run on warm OS caches for the gateway's file and the raw store alike, as a
      // serving gateway's would be: the raw baselines have just written gigabytes in between.
      const warmed = (await warmFiles([gwPath, raw1Path])).toFixed(1);
      log(`  read the gateway's and the raw store's KV files once (${warmed} s)`);
      for (const conc of o.queryConcurrency) {
        for (const filtered of [false, true]) {
          log(
            `page queries at ${fmtN(stored)}${
              filtered ? " with contentTopics" : ""
            }, concurrency ${conc}`,
          );
          const q = await httpPages(target, stored, o, filtered, conc);
          log(`  gateway ${fmtRate(q.rate)} pages/s, p50 ${fmtMs(q.p50)} p99 ${fmtMs(q.p99)} ms`);
          rows.push({
            measurement: `Page queries, 100/page${filtered ? ", contentTopics filter" : ""}, ${
              clients(conc)
            }`,
            size: fmtN(stored),
            gateway: q,
            baselineLabel: `raw KV \`list\` of 100, ${clients(conc)}`,
            target: {
              ratio: 0.7,
              p99: 10,
              text: `≥ 0.7× raw, p99 < 10 ms${s === o.sizes.length - 1 ? "" : " (set for 1M)"}`,
            },
          });
        }
        log(`raw list pages at ${fmtN(stored)}, concurrency ${conc}`);
        const rq = await rawPages(raw1, [RAW], stored, o, conc);
        log(`  raw ${fmtRate(rq.rate)} pages/s, p50 ${fmtMs(rq.p50)} p99 ${fmtMs(rq.p99)} ms`);
        rows.slice(-2).forEach((r) => r.baseline = rq);
      }

      if (s === 0 && o.singles > 0) {
        let to = stored + o.singles;
        await settleAll();
        log(`${o.publishers} concurrent single publishers, messages ${fmtN(stored)}→${fmtN(to)}`);
        const g = await httpSingles(target, stored, to, o);
        log(
          `  gateway ${fmtRate(g.rate)} msgs/s, p50 ${fmtMs(g.p50)} p99 ${fmtMs(g.p99)} ms; ` +
            `server ${g.serverCores?.toFixed(2)} cores, client ${g.clientCores?.toFixed(2)}`,
        );
        rows.push({
          measurement: `Concurrent single publishes (POST /relay/v1/messages)`,
          size: `${fmtN(stored)}→${fmtN(to)}`,
          gateway: g,
          baselineLabel: "raw KV `set`, 1 key/msg, 500/commit (bulk row above)",
          baseline: singlesBaseline,
          target: { rate: 10_000, p99: 20, text: "≥ 10,000/s, p99 < 20 ms" },
        });
        singlesRow = rows[rows.length - 1];
        let at = to;
        for (const offered of o.pacedRates) {
          const rate = offered === -1 ? Math.max(100, Math.round(g.rate / 2 / 100) * 100) : offered;
          const end = at + Math.round(rate * o.pacedSeconds);
          log(`paced single publishes, ${fmtRate(rate)}/s offered, ${fmtN(at)}→${fmtN(end)}`);
          const pr = await httpSinglesPaced(target, at, rate, o);
          log(`  gateway ${fmtRate(pr.rate)} msgs/s, p50 ${fmtMs(pr.p50)} p99 ${fmtMs(pr.p99)} ms`);
          rows.push({
            measurement: `Paced single publishes, ${fmtRate(rate)}/s offered${
              offered === -1 ? " (half the max above)" : ""
            }`,
            size: `${fmtN(at)}→${fmtN(end)}`,
            gateway: pr,
            baselineLabel: "–",
            target: offered === 10_000
              ? { rate: 9_800, p99: 20, text: "keeps up (≥ 9,800/s), p99 < 20 ms" }
              : undefined,
          });
          at = end;
        }
        to = at;
        if (o.breakdown) {
          log(`breakdown: GET /health and ephemeral publishes, ${o.publishers} clients`);
          singlesLadderRows.push(
            {
              label: "no-op Deno.serve in the gateway's process, same POST body (HTTP floor)",
              r: await httpFloor(target, "bare", o),
            },
            {
              label: "GET /health (HTTP + middleware + one KV get)",
              r: await httpFloor(target, "health", o),
            },
            {
              label: "POST /relay/v1/messages with ephemeral:true (all but storage)",
              r: await httpFloor(target, "ephemeral", o),
            },
          );
          const n = Math.min(100_000, o.sizes[0]);
          log(`breakdown: bulk ingest of ${fmtN(n)} ephemeral messages`);
          ephemeralBulk = await httpBulk(target, 2_000_000_000, 2_000_000_000 + n, o, true);
        }
        const idx = await waitForHashIndex(gwPath, o.phaseSeconds);
        log(
          `  hash-index backlog after single publishes ${fmtN(idx.backlog)}, drained in ${
            idx.seconds.toFixed(1)
          } s`,
        );
        // Keep the raw stores the same size as the gateway's (untimed).
        await rawIngest(raw1, "one", stored, to, 500);
        await rawIngest(rawGw, "gateway", stored, to, 100);
        stored = to;
      }
    }
    const last = o.sizes[o.sizes.length - 1];
    if (o.breakdown) {
      for (const conc of o.queryConcurrency) {
        await settleAll();
        await warmFiles([gwPath, raw1Path]);
        const ladder = await queryLadder(gwPath, stored, o, conc);
        // the real thing, for the last rung
        const name = `Page queries, 100/page, ${clients(conc)}`;
        const http = rows.find((r) => r.measurement === name && r.size === fmtN(last));
        if (http) {
          ladder.push({ label: "+ HTTP: GET /store/v3/messages (main table)", r: http.gateway });
        }
        queryLadderRows.push({ conc, rows: ladder });
      }
      const ladder = await ingestLadder(dir, o.sizes[0], o, settleAll);
      ingestLadderRows = ladder.ingest;
      if (ladder.singles) {
        singlesLadderRows.push({
          label: `WakuService.publish in-process, ${o.publishers} concurrent callers ` +
            `(group commit + KV, no HTTP), store at ${fmtN(o.sizes[0])}`,
          r: ladder.singles,
        });
      }
      if (singlesRow) {
        singlesLadderRows.push({
          label: "POST /relay/v1/messages, stored (main table)",
          r: singlesRow.gateway,
        });
      }
      const first = ingestRows[`0→${fmtN(o.sizes[0])}`];
      ingestLadderRows.unshift({
        label: "raw KV, 1 key/msg, 500 msgs/commit (main baseline)",
        r: first.raw1,
      });
      const commitRow = ingestLadderRows.findIndex((r) =>
        r.label.startsWith("raw KV, the gateway's publish commit")
      );
      ingestLadderRows.splice(commitRow + 1, 0, {
        label: '+ the deferred hash index ("q" → "h" as WakuRepo.indexPending; main 2nd baseline)',
        r: first.rawGw,
      });
      ingestLadderRows.push({
        label: "HTTP: POST /relay/v1/bulk (main table; indexer running beside it)",
        r: first.gw,
      });
      if (ephemeralBulk) {
        ingestLadderRows.push({
          label: "(the ceiling without storage) HTTP: POST /relay/v1/bulk, every message " +
            "ephemeral: parsed, validated, hashed, rendered and sent live, not stored",
          r: ephemeralBulk,
        });
      }
    }
    log(
      `sizes on disk: gateway ${(await fileMB(gwPath)).toFixed(0)} MB, raw 1 key/msg ${
        (await fileMB(raw1Path)).toFixed(0)
      } MB, raw gateway layout ${(await fileMB(rawGwPath)).toFixed(0)} MB`,
    );
  } finally {
    raw1.close();
    rawGw.close();
    await target.close();
    await cleanup().catch(() => {});
  }

  const minutes = (performance.now() - t0) / 60000;
  const report = [
    "",
    `## Results — ${new Date().toISOString().slice(0, 10)}, ${env}`,
    "",
    `Gateway ${o.inProcess ? "in the bench process" : "in its own process"}; ` +
    `${fmtN(o.queryPages)} pages per query row; ` +
    `run took ${minutes.toFixed(1)} min; gateway source sha256 ${fingerprint}.`,
    "",
    table(rows),
    "",
    "CPU during the HTTP rows (cores; the gateway's process / the load generator):",
    "",
    ...rows.filter((r, i) => rows.findIndex((x) => x.gateway === r.gateway) === i)
      .map((r) =>
        `- ${r.measurement} @ ${r.size}: ${r.gateway.serverCores?.toFixed(2) ?? "–"} / ${
          r.gateway.clientCores?.toFixed(2) ?? "–"
        }` + (r.gateway.errors ? ` — ${r.gateway.errors} errors` : "") +
        (r.gateway.note ? ` (${r.gateway.note})` : "")
      ),
  ];
  if (ingestLadderRows.length) {
    report.push(
      "",
      `Ingest breakdown, messages 0→${fmtN(o.sizes[0])} into fresh stores (rates of KV ` +
        "commit time for raw rows, of call time for in-process rows, wall time for HTTP):",
      "",
      ladderTable("Ingest layer", "msgs/s", ingestLadderRows),
    );
  }
  if (singlesLadderRows.length) {
    report.push(
      "",
      `Single-publish breakdown, ${o.publishers} concurrent clients (rates of wall time):`,
      "",
      ladderTable("Publish layer", "req/s", singlesLadderRows),
    );
  }
  for (const { conc, rows: ladder } of queryLadderRows) {
    report.push(
      "",
      `Query breakdown at ${fmtN(o.sizes[o.sizes.length - 1])}+ stored messages (the gateway's ` +
        `KV file), pages of 100 from random cursors, ${clients(conc)}:`,
      "",
      ladderTable("Query layer", "pages/s", ladder),
    );
  }
  console.log(report.join("\n"));
  if (o.json) {
    await Deno.writeTextFile(
      o.json,
      JSON.stringify(
        {
          env,
          fingerprint,
          options: o,
          rows,
          ingestLadderRows,
          singlesLadderRows,
          queryLadderRows,
        },
        (_k, v) => typeof v === "bigint" ? v.toString() : v,
        2,
      ),
    );
  }
}

await main();
