/**
 * Deltas as the rows send them, and how their arrivals are timed. A delta
 * is a 4-byte write whose bytes are its sequence number (u32
 * little-endian), at offset `(seq × 7) mod slots × 4` of the data file, so
 * consecutive deltas land at varying offsets and whoever receives one
 * (WebSocket event, echoed frame, the peer's socket) knows which it was.
 */
import { Latencies } from "../harness/result.ts";
import { writeFrame } from "./peer.ts";

/** The 4 bytes of delta `seq`. */
export function deltaBytes(seq: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq >>> 0, true);
  return b;
}

/** The sequence number in a delta's bytes. */
export function seqOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
}

/** Where delta `seq` goes in a file of `size` bytes. */
export function deltaOffset(seq: number, size: number): number {
  return ((seq * 7) % (size >> 2)) << 2;
}

/** Delta `seq` framed as a write message into a file at `address` of `size` bytes. */
export function deltaFrame(seq: number, address: number, size: number): Uint8Array {
  return writeFrame(address + deltaOffset(seq, size), deltaBytes(seq));
}

/**
 * One run of `n` deltas with sequence numbers base..base+n-1: when each
 * was sent, how many arrived, and the latency of each arrival.
 */
export class DeltaRun {
  readonly sent: Float64Array;
  readonly lat = new Latencies();
  got = 0;
  /** Arrivals of sequence numbers outside the run or twice. */
  strays = 0;
  readonly #seen: Uint8Array;
  #wake?: () => void;
  #done?: () => void;

  constructor(readonly n: number, readonly base: number) {
    this.sent = new Float64Array(n);
    this.#seen = new Uint8Array(n);
  }

  /** Records the arrival of delta `seq` now. */
  arrive(seq: number, now = performance.now()): void {
    const k = seq - this.base;
    if (k < 0 || k >= this.n || this.#seen[k]) {
      this.strays++;
      return;
    }
    this.#seen[k] = 1;
    this.lat.add(now - this.sent[k]);
    this.got++;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
    if (this.got === this.n) this.#done?.();
  }

  /** Resolves at the next arrival. */
  progress(): Promise<void> {
    return new Promise((r) => this.#wake = r);
  }

  /** Resolves once every delta arrived, or after `ms` (then some are missing). */
  async finished(ms: number): Promise<void> {
    if (this.got === this.n) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((r) => this.#done = r),
      new Promise<void>((r) => timer = setTimeout(r, ms)),
    ]);
    clearTimeout(timer);
  }
}

/** The run's deltas framed, back to back, built before anything is timed. */
export class FramedDeltas {
  readonly bytes: Uint8Array;
  /** Where frame k starts; ends[k] = starts[k + 1]. */
  readonly starts: Uint32Array;

  constructor(run: DeltaRun, frame: (seq: number) => Uint8Array) {
    const frames = Array.from({ length: run.n }, (_, k) => frame(run.base + k));
    this.starts = new Uint32Array(run.n + 1);
    for (let k = 0; k < run.n; k++) this.starts[k + 1] = this.starts[k] + frames[k].length;
    this.bytes = new Uint8Array(this.starts[run.n]);
    for (let k = 0; k < run.n; k++) this.bytes.set(frames[k], this.starts[k]);
  }

  /** Frames k..k+m-1, as one view. */
  slice(k: number, m: number): Uint8Array {
    return this.bytes.subarray(this.starts[k], this.starts[k + m]);
  }
}

/**
 * Sends the run's deltas as fast as `send` takes them, at most `window`
 * sent and not yet arrived, in socket writes of at most `batch` frames.
 * Each delta's send time is taken just before the write that carries it.
 */
export async function pumpDeltas(
  run: DeltaRun,
  framed: FramedDeltas,
  opts: {
    window: number;
    batch: number;
    send: (bytes: Uint8Array) => Promise<void>;
    deadline: number;
  },
): Promise<void> {
  let k = 0;
  while (k < run.n) {
    if (performance.now() > opts.deadline) return;
    const room = opts.window - (k - run.got);
    if (room <= 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([run.progress(), new Promise((r) => timer = setTimeout(r, 50))]);
      clearTimeout(timer);
      continue;
    }
    const m = Math.min(room, opts.batch, run.n - k);
    const t = performance.now();
    run.sent.fill(t, k, k + m);
    const bytes = framed.slice(k, m);
    k += m;
    await opts.send(bytes);
  }
}
