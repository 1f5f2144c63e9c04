import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { TooLargeError, UnavailableError } from "../../lib/errors.ts";
import { type FrameHeader, lengthPrefix } from "../../lib/frame_header.ts";
import { type Frame, FrameReader } from "../../services/frame_reader.ts";
import { readableOf } from "../../services/node_stream.ts";
import { fuzzSeed, hex, mutate, Rng } from "../protocols/waku/fuzz_util.ts";

/** A framing under test, with a writer for it. */
interface Format {
  name: string;
  header: FrameHeader;
  /** The header for a body of `length`; `rng` fills any other header bytes. */
  encode(length: number, rng: Rng): Uint8Array;
  /** Largest body the header can announce. */
  maxLength: number;
}

const prefix = (name: string, opts: Parameters<typeof lengthPrefix>[0]): Format => {
  const h = lengthPrefix(opts);
  return {
    name,
    header: h,
    encode: (n, rng) => {
      const out = h.encode(n);
      for (let i = 0; i < (opts.at ?? 0); i++) out[i] = rng.byte(); // e.g. BEP v1's header word
      return out;
    },
    maxLength: 2 ** (8 * opts.size) - 1,
  };
};

/** RemoteFile NumHeader32 (FIELD-NOTES): 1 byte for 0–127; else 4 bytes, bit 31 set. */
const numHeader32: Format = {
  name: "NumHeader32",
  header: {
    maxHeaderBytes: 4,
    headerLength: (h) => h.length === 0 ? 1 : h[0] & 0x80 ? 4 : 1,
    bodyLength: (h) =>
      h.length === 1 ? h[0] : new DataView(h.buffer, h.byteOffset).getUint32(0) & 0x7fffffff,
  },
  encode: (n) =>
    n < 128 ? new Uint8Array([n]) : new Uint8Array([0x80 | (n >>> 24), n >>> 16, n >>> 8, n]),
  maxLength: 0x7fffffff,
};

/** New BEP's shape: u16 header length ‖ header ‖ u32 body length. */
const variable: Format = {
  name: "u16+header+u32",
  header: {
    maxHeaderBytes: 2 + 40 + 4,
    headerLength: (h) => h.length < 2 ? 2 : 2 + ((h[0] << 8) | h[1]) + 4,
    bodyLength: (h) => new DataView(h.buffer, h.byteOffset).getUint32(h.length - 4),
  },
  encode: (n, rng) => {
    const inner = rng.bytes(rng.int(41));
    const out = new Uint8Array(2 + inner.length + 4);
    const v = new DataView(out.buffer);
    v.setUint16(0, inner.length);
    out.set(inner, 2);
    v.setUint32(2 + inner.length, n);
    return out;
  },
  maxLength: 0xffffffff,
};

const FORMATS: Format[] = [
  prefix("u8", { size: 1 }),
  prefix("u16be", { size: 2 }),
  prefix("u16le", { size: 2, endian: "little" }),
  prefix("u32be", { size: 4 }),
  prefix("u32le", { size: 4, endian: "little" }),
  prefix("bep-v1", { size: 4, at: 4 }),
  numHeader32,
  variable,
];

type Outcome =
  | { end: "clean" }
  | { end: "too-large"; what: string; size: number }
  | { end: "truncated" };

/** The reference: decodes a whole byte string at once, as the reader must piece by piece. */
function reference(bytes: Uint8Array, header: FrameHeader, max: number) {
  const frames: Frame[] = [];
  let pos = 0;
  for (;;) {
    if (pos === bytes.length) return { frames, outcome: { end: "clean" } as Outcome };
    let have = 0;
    let need = header.headerLength(bytes.subarray(pos, pos));
    while (need !== have) {
      if (need > header.maxHeaderBytes) {
        return {
          frames,
          outcome: { end: "too-large", what: "frame header", size: need } as Outcome,
        };
      }
      if (pos + need > bytes.length) return { frames, outcome: { end: "truncated" } as Outcome };
      have = need;
      need = header.headerLength(bytes.subarray(pos, pos + have));
    }
    const head = bytes.slice(pos, pos + have);
    const length = header.bodyLength(head);
    if (length > max) {
      return { frames, outcome: { end: "too-large", what: "frame", size: length } as Outcome };
    }
    pos += have;
    if (pos + length > bytes.length) return { frames, outcome: { end: "truncated" } as Outcome };
    frames.push({ header: head, body: bytes.slice(pos, pos + length) });
    pos += length;
  }
}

/** Random cut points: many small pieces, some large, some empty chunks. */
function split(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = rng.pick([0, 1, 1, 2, 3, 7, 64, 500, 5000]);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/**
 * A byte stream that answers BYOB requests piece by piece (recording the size
 * of every buffer the reader offers, i.e. what it allocated) and sometimes
 * enqueues a whole piece instead, so the stream's own queue copies it out.
 */
function byteStream(rng: Rng, pieces: Uint8Array[], offered: number[]) {
  let i = 0;
  let rest: Uint8Array = new Uint8Array(0);
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      while (rest.length === 0) {
        if (i === pieces.length) {
          c.close();
          c.byobRequest?.respond(0);
          return;
        }
        rest = pieces[i++];
      }
      const req = c.byobRequest;
      if (req?.view && rng.chance(0.8)) {
        const view = new Uint8Array(req.view.buffer, req.view.byteOffset, req.view.byteLength);
        offered.push(view.buffer.byteLength);
        const n = Math.min(view.length, rest.length);
        view.set(rest.subarray(0, n));
        rest = rest.subarray(n);
        req.respond(n);
      } else {
        c.enqueue(rest.slice());
        rest = new Uint8Array(0);
      }
    },
  });
}

/** A node stream carrying `pieces`, adapted as a peer's TLS socket is. */
function nodeStream(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  const socket = new PassThrough();
  for (const p of pieces) if (p.length > 0) socket.write(p);
  socket.end();
  return readableOf(socket);
}

/** Fails (rather than hangs) if `p` has not settled within a generous bound. */
async function noHang<T>(p: Promise<T>, what: string): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: hung`)), 10_000);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `fn` with the global Uint8Array and ArrayBuffer constructors
 * observed, recording every size allocated: the reader's allocations are
 * what this test bounds, and it makes them no other way.
 */
async function recordingAllocations<T>(sizes: number[], fn: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>;
  const real = { Uint8Array: g.Uint8Array, ArrayBuffer: g.ArrayBuffer };
  for (const name of ["Uint8Array", "ArrayBuffer"] as const) {
    g[name] = new Proxy(real[name] as typeof Uint8Array, {
      construct(target, args, newTarget) {
        if (typeof args[0] === "number") sizes.push(args[0]);
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
  try {
    return await fn();
  } finally {
    Object.assign(g, real);
  }
}

/** Reads every frame; returns them and how the stream ended. */
async function drain(reader: FrameReader) {
  const frames: Frame[] = [];
  try {
    for await (const f of reader) frames.push(f);
    return { frames, outcome: { end: "clean" } as Outcome, error: undefined };
  } catch (e) {
    if (e instanceof TooLargeError) {
      return { frames, outcome: { end: "too-large", what: e.what, size: e.size } as Outcome };
    }
    if (e instanceof UnavailableError && /inside a frame/.test(e.message)) {
      return { frames, outcome: { end: "truncated" } as Outcome };
    }
    throw e;
  }
}

const plain = (frames: Frame[]) => frames.map((f) => `${hex(f.header)}:${hex(f.body)}`);

/** Decodes `bytes` through both kinds of stream and checks them against the reference. */
async function check(
  rng: Rng,
  bytes: Uint8Array,
  format: Format,
  max: number,
  label: string,
): Promise<string> {
  const want = reference(bytes, format.header, max);
  const limit = Math.max(max, format.header.maxHeaderBytes);
  for (const kind of ["chunks", "byob", "node"] as const) {
    const pieces = split(rng, bytes);
    const offered: number[] = [];
    const stream = kind === "chunks"
      ? ReadableStream.from(pieces)
      : kind === "byob"
      ? byteStream(rng, pieces, offered)
      : nodeStream(pieces);
    const reader = new FrameReader(stream, { header: format.header, maxFrameBytes: max });
    const allocated: number[] = [];
    const got = await recordingAllocations(
      allocated,
      () => noHang(drain(reader), `${label} ${kind}`),
    );
    const at = `${label} (${format.name}, ${kind}, ${bytes.length} bytes)`;
    for (const size of allocated) assert.ok(size <= limit, `${at}: allocated ${size} bytes`);
    assert.deepEqual(plain(got.frames), plain(want.frames), `${at}: frames`);
    assert.deepEqual(got.outcome, want.outcome, `${at}: outcome`);
    for (const f of got.frames) {
      assert.equal(f.body.buffer.byteLength, f.body.length, `${at}: body buffer is exact`);
    }
    for (const size of offered) assert.ok(size <= limit, `${at}: a ${size}-byte buffer`);
  }
  return want.outcome.end === "too-large" ? want.outcome.what : want.outcome.end;
}

/** A valid stream of frames, sometimes with one over the maximum. */
function frames(rng: Rng, format: Format, max: number): Uint8Array {
  const parts: number[] = [];
  for (let n = rng.int(12); n > 0; n--) {
    const length = Math.min(
      format.maxLength,
      rng.pick([0, 1, rng.int(128), 127, 128, rng.int(max + 1), max, max + 1 + rng.int(100)]),
    );
    parts.push(...format.encode(length, rng), ...rng.bytes(Math.min(length, max + 200)));
  }
  return new Uint8Array(parts);
}

Deno.test("fuzz: valid frame streams split anywhere decode to exactly the frames written", async () => {
  const seed = fuzzSeed(20261207);
  const rng = new Rng(seed);
  const seen = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const format = rng.pick(FORMATS);
    const max = rng.pick([0, 1, 127, 300, 4096]);
    seen.add(await check(rng, frames(rng, format, max), format, max, `seed ${seed} #${i}`));
  }
  assert.deepEqual([...seen].sort(), ["clean", "frame"], "both endings were exercised");
});

Deno.test("fuzz: random and mutated byte streams never allocate over the max and never hang", async () => {
  const seed = fuzzSeed(20261208);
  const rng = new Rng(seed);
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const format = rng.pick(FORMATS);
    const max = rng.pick([0, 16, 300, 4096]);
    let bytes = rng.chance(0.3) ? rng.bytes(rng.int(2000)) : frames(rng, format, max);
    for (let r = rng.int(4); r > 0; r--) bytes = mutate(rng, bytes);
    seen.add(await check(rng, bytes, format, max, `seed ${seed} #${i}`));
  }
  assert.deepEqual([...seen].sort(), ["clean", "frame", "frame header", "truncated"]);
});

/** A byte stream answering each BYOB request from `bytes`, recording how much each asked for. */
function exactStream(bytes: Uint8Array, asked: number[], stall = false) {
  let pos = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      const view = c.byobRequest!.view!;
      asked.push(view.byteLength);
      if (pos === bytes.length) {
        if (stall) return new Promise<void>(() => {}); // a peer that goes quiet
        c.close();
        return c.byobRequest!.respond(0);
      }
      const n = Math.min(view.byteLength, bytes.length - pos);
      new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(pos, pos + n));
      pos += n;
      c.byobRequest!.respond(n);
    },
  });
}

const u32 = lengthPrefix({ size: 4 });
const join = (...parts: Iterable<number>[]) => new Uint8Array(parts.flatMap((p) => [...p]));

Deno.test("FrameReader asks a byte stream for exactly each header and body, nothing more", async () => {
  const asked: number[] = [];
  const bytes = join(u32.encode(10), new Uint8Array(10).fill(7), u32.encode(0), u32.encode(3), [
    1,
    2,
    3,
  ]);
  const reader = new FrameReader(exactStream(bytes, asked), { header: u32, maxFrameBytes: 100 });
  const frames = [];
  for await (const f of reader) frames.push(f);
  assert.deepEqual(frames.map((f) => [...f.body]), [Array(10).fill(7), [], [1, 2, 3]]);
  assert.deepEqual(asked, [4, 10, 4, 4, 3, 4], "header, body, …, and one header read at the end");
  assert.equal(await reader.read(), null, "still at its end");
});

Deno.test("FrameReader: a read may use other framing; readExactly; one read at a time", async () => {
  const magic = lengthPrefix({ size: 2, at: 4 }); // a hello: 4 magic bytes, u16 length
  const bytes = join([0x2e, 0xa7, 0xd9, 0x0b, 0, 2], [8, 9], u32.encode(1), [5], [1, 2, 3]);
  const reader = new FrameReader(exactStream(bytes, []), { header: u32, maxFrameBytes: 100 });
  const hello = (await reader.read({ header: magic }))!;
  assert.deepEqual([...hello.header.subarray(0, 4)], [0x2e, 0xa7, 0xd9, 0x0b]);
  assert.deepEqual([...hello.body], [8, 9]);
  const pending = reader.read();
  await assert.rejects(reader.read(), TypeError);
  assert.deepEqual([...(await pending)!.body], [5]);
  assert.deepEqual([...(await reader.readExactly(3))!], [1, 2, 3]);
  assert.equal(await reader.readExactly(3), null);
});

Deno.test("FrameReader: a stalled frame times out, an aborted read throws its reason; both cancel the source", async () => {
  const bytes = join(u32.encode(10), [1, 2, 3]);
  const cancelled: unknown[] = [];
  const slow = new FrameReader(exactStream(bytes, [], true), {
    header: u32,
    maxFrameBytes: 100,
    readTimeoutMs: 30,
    onCancel: (r) => cancelled.push(r),
  });
  await assert.rejects(
    slow.read(),
    (e: Error) =>
      e instanceof UnavailableError && e.message === "Frame not complete 30 ms after it began",
  );
  await assert.rejects(slow.read(), /Frame not complete/, "the reader stays ended");
  const stop = new AbortController();
  const aborted = new FrameReader(exactStream(new Uint8Array(0), [], true), {
    header: u32,
    maxFrameBytes: 100,
    onCancel: (r) => cancelled.push(r),
  });
  const reading = aborted.read({ signal: stop.signal });
  stop.abort(new Error("shutting down"));
  await assert.rejects(reading, /shutting down/);
  assert.equal(cancelled.length, 2);
});

Deno.test("FrameReader with buffered reads takes many small frames in one read of the source", async () => {
  const frames = Array.from({ length: 100 }, (_, i) => join(u32.encode(3), [i, i, i]));
  const bytes = join(...frames);
  let pulls = 0;
  // As a Deno socket's readable: a byte stream that allocates its own chunks for default reads.
  const stream = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 4096,
    pull(c) {
      pulls++;
      const view = c.byobRequest!.view!;
      const n = Math.min(view.byteLength, bytes.length - (pulls - 1) * 4096);
      if (n <= 0) {
        c.close();
        return c.byobRequest!.respond(0);
      }
      const from = (pulls - 1) * 4096;
      new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(from, from + n));
      c.byobRequest!.respond(n);
    },
  });
  const reader = new FrameReader(stream, { header: u32, maxFrameBytes: 100, buffered: true });
  const got = [];
  for await (const f of reader) got.push([...f.body]);
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => [i, i, i]));
  assert.ok(pulls <= 2, `${pulls} reads of the source for 700 bytes of frames`);
});

Deno.test("FrameReader: one read may have a lower limit, refused before allocating", async () => {
  const bytes = join(u32.encode(200), new Uint8Array(200));
  const reader = new FrameReader(exactStream(bytes, []), { header: u32, maxFrameBytes: 1000 });
  await assert.rejects(
    reader.read({ maxFrameBytes: 127, what: "greeting" }),
    (e: unknown) =>
      e instanceof TooLargeError && /greeting is 200 bytes; the limit is 127/.test(e.message),
  );
});
