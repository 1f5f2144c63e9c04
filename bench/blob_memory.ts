/**
 * Memory of the streaming blob store (storage/blob_store.ts): puts a blob
 * from a generated stream and reads it back, and prints the peak RSS of
 * each phase beside the blob's size. Flat memory means the peak stays about
 * the same whatever the size.
 *
 *   deno run -A --v8-flags=--expose-gc bench/blob_memory.ts              # 64 MiB
 *   deno run -A --v8-flags=--expose-gc bench/blob_memory.ts --sizes=16,64,256
 *
 * The stream yields 64 KiB pieces made as they are pulled (nothing holds the
 * whole body); the read counts bytes as they come, and a separate pass
 * checks their SHA-256 against the put's. RSS (Deno.memoryUsage().rss) is
 * sampled at every piece and every 5 ms, after a GC before each phase.
 * The KV file is in a temp dir, deleted at the end.
 *
 * V8 frees garbage ArrayBuffers (the body's pieces, committed chunks) when
 * its own heuristics say so, which sets much of the RSS peak. `--live` also
 * runs a GC at every 4 MiB and reports the most memory still in use right
 * after one (V8 heap used + external buffers): what the store keeps alive.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { createMetrics } from "../lib/metrics.ts";
import { BlobStore } from "../storage/blob_store.ts";
import { openStore } from "../storage/kv.ts";

const MiB = 1 << 20;
const PIECE = 64 * 1024;

const sizesArg = Deno.args.find((a) => a.startsWith("--sizes="))?.slice(8) ?? "64";
const sizes = sizesArg.split(",").map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`--sizes takes MiB counts, got "${s}"`);
  return n * MiB;
});

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn("No --v8-flags=--expose-gc: baselines include garbage of earlier phases");
const live = Deno.args.includes("--live");
if (live && !gc) throw new Error("--live needs --v8-flags=--expose-gc");
const LIVE_EVERY = 4 * MiB;

/** Peak RSS while `fn` runs, sampled by `sample()` calls and a 5 ms timer. */
async function peakRss<T>(fn: (sample: (bytes?: number) => void) => Promise<T>) {
  gc?.();
  const baseline = Deno.memoryUsage().rss;
  let peak = baseline;
  let at = Deno.memoryUsage(); // the usage at the peak: how much of it is V8's
  let liveMax = 0;
  let bytes = 0;
  const sample = (n = 0) => {
    bytes += n;
    if (live && bytes >= LIVE_EVERY) {
      bytes = 0;
      gc!();
      const m = Deno.memoryUsage();
      liveMax = Math.max(liveMax, m.heapUsed + m.external);
    }
    const m = Deno.memoryUsage();
    if (m.rss > peak) [peak, at] = [m.rss, m];
  };
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  try {
    const result = await fn(sample);
    sample();
    return { result, baseline, peak, at, liveMax, seconds: (performance.now() - t0) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

/** `size` pseudo-random bytes in PIECE-sized pieces, each made when pulled. */
function generated(size: number, sample: (bytes: number) => void): ReadableStream<Uint8Array> {
  let sent = 0;
  let x = 0x9e3779b9;
  return new ReadableStream({
    pull(c) {
      const n = Math.min(PIECE, size - sent);
      sample(n);
      if (n === 0) return c.close();
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x;
      }
      c.enqueue(new Uint8Array(words.buffer, 0, n));
      sent += n;
    },
  }, { highWaterMark: 0 });
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1).padStart(6) + " MiB";
interface Phase {
  baseline: number;
  peak: number;
  at: Deno.MemoryUsage;
  liveMax: number;
  seconds: number;
}

function fmt(name: string, size: number, r: Phase): string {
  const rate = (size / MiB / r.seconds).toFixed(0).padStart(4);
  const parts = [
    `${name}  ${mib(size)}  ${r.seconds.toFixed(2).padStart(5)} s  ${rate} MiB/s`,
    `peak RSS ${mib(r.peak)} (${mib(r.peak - r.baseline)} over ${mib(r.baseline)};`,
    `V8 heap ${mib(r.at.heapTotal)}, external ${mib(r.at.external)})`,
  ];
  if (live) parts.push(`live after GC ≤ ${mib(r.liveMax)}`);
  return parts.join("  ");
}

const dir = await Deno.makeTempDir({ prefix: "syncgate-blob-bench-" });
const store = await openStore(`${dir}/blobs.kv`, createMetrics());
const blobs = new BlobStore(store);
try {
  console.log(`Deno ${Deno.version.deno}, V8 ${Deno.version.v8}; pieces of ${PIECE} bytes`);
  for (const size of sizes) {
    const put = await peakRss((sample) => blobs.put(generated(size, sample), { maxBytes: size }));
    const blob = put.result;
    console.log(fmt("put", size, put));
    const get = await peakRss(async (sample) => {
      let n = 0;
      for await (const chunk of (await blobs.get(blob.hash))!.stream) {
        n += chunk.length;
        sample(chunk.length);
      }
      return n;
    });
    if (get.result !== size) throw new Error(`Read ${get.result} bytes of ${size}`);
    console.log(fmt("get", size, get));
    const hasher = sha256.create();
    for await (const chunk of blobs.read(blob)) hasher.update(chunk);
    const same = hasher.digest().toHex() === blob.hash.toHex();
    if (!same) throw new Error(`Read back other bytes than were put at ${size} bytes`);
    console.log(`     ${mib(size)}  read back with the same SHA-256: 0x${blob.hash.toHex()}`);
  }
} finally {
  store.kv.close();
  await Deno.remove(dir, { recursive: true });
}
