/**
 * The measured rows: deltas streamed one way (peer → WebSocket, and the
 * same frames through the raw TCP echo), and closed loops of single
 * deltas (REST → peer, the echo round trip, a PUT to a no-op server).
 * Every row is run once untimed (JIT, connections), then timed with both
 * sides' CPU (harness withCpu).
 */
import { type CpuSource, withCpu } from "../harness/cpu.ts";
import { concurrently } from "../harness/measure.ts";
import { Latencies, type Result, resultOf } from "../harness/result.ts";
import { deltaBytes, deltaOffset, DeltaRun, FramedDeltas, pumpDeltas } from "./deltas.ts";

/** How a stream row runs. */
export interface StreamShape {
  /** Timed deltas. */
  n: number;
  /** Untimed deltas first. */
  warm: number;
  /** At most this many sent and not yet received. */
  window: number;
  /** Frames per socket write. */
  batch: number;
  maxSeconds: number;
}

/** Where a stream row's deltas go and come back from. */
export interface StreamEnds {
  /** Frames delta `seq`. */
  frame(seq: number): Uint8Array;
  send(bytes: Uint8Array): Promise<void>;
  /** Calls `arrive(seq)` for each delta received at the far end, from now on. */
  receive(arrive: (seq: number) => void): void;
}

/** Next sequence number: every run of the bench uses fresh ones. */
let nextSeq = 1;

async function streamOnce(ends: StreamEnds, shape: StreamShape, n: number): Promise<Result> {
  const run = new DeltaRun(n, nextSeq);
  nextSeq += n;
  const framed = new FramedDeltas(run, (seq) => ends.frame(seq));
  ends.receive((seq) => run.arrive(seq));
  const t0 = performance.now();
  const deadline = t0 + shape.maxSeconds * 1000;
  await pumpDeltas(run, framed, { ...shape, deadline, send: (b) => ends.send(b) });
  await run.finished(Math.max(0, deadline - performance.now()) + 5000);
  const seconds = (performance.now() - t0) / 1000;
  const missing = run.n - run.got;
  return resultOf(
    run.got,
    seconds,
    run.lat,
    missing,
    missing ? `${missing} of ${run.n} deltas never arrived` : undefined,
  );
}

/** Streams deltas through `ends`: rate = deltas received per second, latency send → receive. */
export async function streamRow(
  server: CpuSource | undefined,
  ends: StreamEnds,
  shape: StreamShape,
): Promise<Result> {
  if (shape.warm) await streamOnce(ends, shape, shape.warm);
  return await withCpu(server, () => streamOnce(ends, shape, shape.n));
}

/** How a closed-loop row runs. */
export interface LoopShape {
  concurrency: number;
  warm: number;
  total: number;
  maxSeconds: number;
}

/**
 * One delta's trip: starts it, and returns when it is done, with its
 * latency in ms (and a second figure, e.g. the response's), or an error.
 */
export type Trip = (seq: number) => Promise<{ ms: number; ms2?: number; error?: string }>;

/** A closed loop of trips; the result's latency is each trip's `ms`, `second` its `ms2`. */
export async function loopRow(
  server: CpuSource | undefined,
  shape: LoopShape,
  trip: Trip,
): Promise<{ result: Result; second: Latencies }> {
  const run = async (n: number) => {
    const base = nextSeq;
    nextSeq += n;
    const lat = new Latencies(), second = new Latencies();
    let errors = 0;
    const r = await concurrently(shape.concurrency, n, shape.maxSeconds, async (k) => {
      const t = await trip(base + k);
      if (t.error) {
        if (++errors <= 3) console.error(`  error: ${t.error}`);
        return;
      }
      lat.add(t.ms);
      if (t.ms2 !== undefined) second.add(t.ms2);
    });
    return { result: resultOf(r.done - errors, r.seconds, lat, errors), second };
  };
  if (shape.warm) await run(shape.warm);
  let second = new Latencies();
  const result = await withCpu(server, async () => {
    const r = await run(shape.total);
    second = r.second;
    return r.result;
  });
  return { result, second };
}

/** Waits for arrivals by sequence number. */
export class Arrivals {
  readonly #waiting = new Map<number, (t: number) => void>();

  /** A promise of delta `seq`'s arrival time; register before sending it. */
  expect(seq: number, ms = 10_000): Promise<number | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<number | undefined>((resolve) => {
      this.#waiting.set(seq, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
      timer = setTimeout(() => {
        this.#waiting.delete(seq);
        resolve(undefined);
      }, ms);
    });
  }

  arrive(seq: number, now = performance.now()): void {
    const f = this.#waiting.get(seq);
    if (!f) return;
    this.#waiting.delete(seq);
    f(now);
  }
}

/** A PUT of delta `seq` to `url(offset)`, timed to the delta's arrival and to the response. */
export function putTrip(
  url: (offset: number) => string,
  fileSize: number,
  arrivals: Arrivals | undefined,
  status: number,
): Trip {
  return async (seq) => {
    const arrived = arrivals?.expect(seq);
    const t0 = performance.now();
    const res = await fetch(url(deltaOffset(seq, fileSize)), {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: deltaBytes(seq),
    });
    const text = await res.text();
    const t1 = performance.now();
    if (res.status !== status) return { ms: NaN, error: `${res.status} ${text.slice(0, 200)}` };
    if (!arrivals) return { ms: t1 - t0 };
    const ta = await arrived;
    if (ta === undefined) return { ms: NaN, error: `delta ${seq} never reached the peer` };
    return { ms: ta - t0, ms2: t1 - t0 };
  };
}

/** Delta `seq`'s frame sent with `send`, timed to its arrival back. */
export function echoTrip(
  frame: (seq: number) => Uint8Array,
  send: (bytes: Uint8Array) => Promise<void>,
  arrivals: Arrivals,
): Trip {
  return async (seq) => {
    const bytes = frame(seq);
    const arrived = arrivals.expect(seq);
    const t0 = performance.now();
    await send(bytes);
    const ta = await arrived;
    if (ta === undefined) return { ms: NaN, error: `delta ${seq} never came back` };
    return { ms: ta - t0 };
  };
}

/**
 * Frames from the WebSocket ceiling server (ws_server.ts): `n` sends of `frame`, with its
 * `window`; the client parses each as the bench's WebSocket client parses events. Rate only.
 */
export async function wsCeilingRow(
  server: CpuSource & { url: string },
  frame: string,
  n: number,
  window: number,
): Promise<Result> {
  const ws = new WebSocket(server.url.replace("http", "ws"));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const once = (count: number) =>
    new Promise<Result>((resolve) => {
      let got = 0;
      const t0 = performance.now();
      const timer = setTimeout(() => done(), 120_000);
      const done = () => {
        clearTimeout(timer);
        const r = resultOf(got, (performance.now() - t0) / 1000, new Latencies(), count - got);
        resolve(r);
      };
      ws.onmessage = (e) => {
        JSON.parse(e.data);
        if (++got === count) done();
      };
      ws.send(JSON.stringify({ n: count, frame, window }));
    });
  try {
    await once(Math.ceil(n / 10));
    return await withCpu(server, () => once(n));
  } finally {
    ws.close();
  }
}
